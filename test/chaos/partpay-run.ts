import type { PartPayFaultsInput } from '../../src/simulator/partpay/index.js';
import { startHarness, type Harness } from '../support/harness.js';
import { dice, longPollFinal, OPEN, PAID, pool, sleep, sseFinal, terminalCall, until, type Told } from './support.js';

/** What the customer and the terminal do with one payment (a seeded choice). */
type Plan = 'approve' | 'decline' | 'cancel' | 'race' | 'abandon';

interface Tracked {
  index: number;
  plan: Plan;
  amountMinor: number;
  createStatus: number;
  id: string | null;
  told: Told;
  /** What a cancel request answered (status and, when 200, the state). */
  cancel?: { status: number; state?: string };
  refundsRequested: number;
}

export interface ScenarioResult {
  fault: string;
  payments: number;
  faultsInjected: number;
  injected: Record<string, number>;
  outcomes: Record<string, number>;
  lateApprovalsRefunded: number;
  resolvedByReconcile: number;
  refunds: number;
  callbacks: { sent: number; abandoned: number; attempts: number };
  durationMs: number;
  problems: string[];
}

/**
 * One fault of the matrix: `count` payments at once through the native API against a
 * simulator injecting `faults`, the customer deciding per a seeded plan, then the jobs run
 * until nothing is open or owed; returns the figures and every inconsistency found.
 */
export async function runPartPayScenario(fault: string, faults: PartPayFaultsInput, count: number, seed: number): Promise<ScenarioResult> {
  const started = Date.now();
  const h = await startHarness({
    // One-second tokens, so that token faults meet many token requests (refreshed every half second).
    simulator: { faults, callbackRetry: { attempts: 4, initialDelayMs: 50 }, tokenTtlSeconds: faults.token ? 1 : 86_400 },
    config: {
      // Terminals and PartPay's callbacks share 127.0.0.1 here (never in a store): without a
      // higher per-source limit, the 401s of badly signed callbacks would lock the terminals out.
      server: { shutdownGraceSeconds: 0.2, authFailures: { perSourcePerMinute: 100_000 } },
      partpay: { requestTimeoutMs: 800, tokenTimeoutMs: 800, retries: { attempts: 3, initialDelayMs: 20 } },
      payments: { orderTtlSeconds: 60, callbackOverdueSeconds: 1, maxWaitSeconds: 5 },
      outbox: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 50 },
    },
  });
  try {
    // Token faults only meet token requests, and the daemon asks for a token only when the one it
    // holds is half-way through its one-second life: spread the creates over 3 s, so that the
    // daemon asks several times however fast the payments themselves go.
    return await drive(h, fault, count, seed, started, faults.token ? 3_000 / count : 0);
  } finally {
    await h.stop();
  }
}

async function drive(h: Harness, fault: string, count: number, seed: number, started: number, staggerMs: number): Promise<ScenarioResult> {
  const f = h.sim.faults().faults.callbacks;
  const lateCallbacksMs = f.delay > 0 || f.reorder > 0 || f.duplicate > 0 ? f.delayMs.max + 300 : 200;
  const auth = h.auth();
  const deadline = Date.now() + 45_000;
  let jobsRunning = true;
  // The daemon's jobs, driven faster than their schedule: a callback counts as overdue after 1 s.
  const jobs = (async () => {
    while (jobsRunning) {
      await h.daemon.core.reconciler.reconcileOverdue(1_000).catch(() => undefined);
      await h.daemon.core.reconciler.expireDue().catch(() => undefined);
      await h.daemon.deliverer.run().catch(() => undefined);
      await sleep(150);
    }
  })();

  const tracked = await pool(Array.from({ length: count }, (_, i) => i), 60, async (i): Promise<Tracked> => {
    const d = dice(seed * 1_000 + i);
    const plan = d.pick<Plan>({ approve: 55, decline: 20, cancel: 10, race: 5, abandon: 10 });
    const amountMinor = d.int(100, 50_000);
    const t: Tracked = { index: i, plan, amountMinor, createStatus: 0, id: null, told: { longPoll: null }, refundsRequested: 0 };
    if (staggerMs > 0) await sleep(i * staggerMs);
    const created = await terminalCall<{ id: string; version: number; state: string; partpay: { orderId: string } | null; error?: { details?: { paymentId?: string } } }>(
      `${h.url}/v1/payments`,
      { headers: { ...auth, 'Idempotency-Key': `${fault}-${i}` }, json: { amountMinor, currency: 'NZD', merchantReference: `${fault}-${i}`.slice(0, 64) } },
      deadline,
    );
    t.createStatus = created.status;
    if (created.status !== 201 && created.status !== 200) {
      const details = (created.body as unknown as { error?: { details?: { paymentId?: string; state?: string } } }).error?.details;
      t.id = details?.paymentId ?? null;
      t.told.longPoll = details?.state ?? null;
      return t;
    }
    t.id = created.body.id;
    const orderId = created.body.partpay?.orderId as string;
    const watching = longPollFinal(h.url, auth, t.id, created.body.version, deadline);
    const streaming = i % 4 === 0 ? sseFinal(h.url, auth, t.id, deadline) : null;
    await sleep(d.int(0, 200));
    const cancel = async () => {
      const res = await terminalCall<{ state: string }>(`${h.url}/v1/payments/${t.id}/cancel`, { headers: auth, json: {} }, deadline);
      t.cancel = res.status === 200 ? { status: res.status, state: res.body.state } : { status: res.status };
    };
    if (plan === 'approve') await h.sim.approve(orderId).catch(() => undefined);
    if (plan === 'decline') await h.sim.decline(orderId).catch(() => undefined);
    if (plan === 'cancel') await cancel();
    if (plan === 'race') await Promise.all([h.sim.approve(orderId).catch(() => undefined), cancel()]);
    if (plan === 'abandon') {
      // Nobody decides: move the deadline into the past so the expiry job takes it.
      await h.sql('UPDATE payments SET expires_at = 0 WHERE id = ?', t.id);
    }
    const final = await watching;
    t.told.longPoll = final.state;
    if (streaming) t.told.sse = await streaming;
    if (final.state === 'approved' && d.next() < 0.35) {
      // Refunds: a partial one (sometimes retried with the same key), sometimes the rest after it.
      const partial = Math.max(1, Math.floor(amountMinor * (0.2 + 0.5 * d.next())));
      const key = `${fault}-${i}-refund-1`;
      const tries = d.next() < 0.3 ? 2 : 1;
      for (let k = 0; k < tries; k += 1) {
        await terminalCall(`${h.url}/v1/payments/${t.id}/refunds`, { headers: { ...auth, 'Idempotency-Key': key }, json: { amountMinor: partial, reason: 'chaos' } }, deadline);
      }
      t.refundsRequested += 1;
      if (d.next() < 0.5) {
        await terminalCall(`${h.url}/v1/payments/${t.id}/refunds`, { headers: { ...auth, 'Idempotency-Key': `${fault}-${i}-refund-2` }, json: { reason: 'rest' } }, deadline);
        t.refundsRequested += 1;
      }
    }
    return t;
  });

  const quiet = async () => {
    const open = await countOf(h, "SELECT count(*) AS n FROM payments WHERE state IN ('created','awaiting_customer')");
    const owed = await countOf(h, "SELECT count(*) AS n FROM outbox WHERE state = 'pending'");
    const refunds = await countOf(h, "SELECT count(*) AS n FROM refunds WHERE state = 'pending'");
    return open === 0 && owed === 0 && refunds === 0;
  };
  await until(quiet, () => sleep(100), 30_000);
  // Let late callbacks (delayed, duplicated, stale) land, then settle once more.
  await sleep(lateCallbacksMs);
  await until(quiet, () => sleep(100), 10_000);
  jobsRunning = false;
  await jobs;
  return check(h, fault, tracked, started);
}

/** The `n` a `SELECT count(*) AS n` answers, on whichever database the harness runs. */
async function countOf(h: Harness, sql: string): Promise<number> {
  const [row] = await h.sql<{ n: number }>(sql);
  return Number(row?.n);
}

async function check(h: Harness, fault: string, tracked: Tracked[], started: number): Promise<ScenarioResult> {
  const problems: string[] = [];
  const orders = h.sim.orders();
  const byRef = new Map<string, typeof orders>();
  for (const o of orders) byRef.set(o.gatewayReference, [...(byRef.get(o.gatewayReference) ?? []), o]);
  const outcomes: Record<string, number> = {};
  let lateApprovalsRefunded = 0;
  let refunds = 0;
  for (const t of tracked) {
    const where = `${fault} #${t.index} (${t.plan}, create ${t.createStatus})`;
    if (t.id === null) {
      problems.push(`${where}: the terminal never learned a payment id`);
      continue;
    }
    const [p] = await h.sql<Record<string, unknown>>('SELECT * FROM payments WHERE id = ?', t.id);
    if (!p) {
      problems.push(`${where}: payment ${t.id} missing`);
      continue;
    }
    const state = p['state'] as string;
    outcomes[state] = (outcomes[state] ?? 0) + 1;
    if (OPEN.has(state)) problems.push(`${where}: still ${state}`);
    const mine = byRef.get(t.id) ?? [];
    if (mine.length > 1) problems.push(`${where}: ${mine.length} PartPay orders for one payment`);
    const o = mine[0];
    // The order PartPay holds is for what the terminal asked, as is our row.
    if (p['amount_minor'] !== t.amountMinor) problems.push(`${where}: daemon holds ${String(p['amount_minor'])}, the terminal asked ${t.amountMinor}`);
    if (o && o.amountCents !== t.amountMinor) problems.push(`${where}: PartPay's order is for ${o.amountCents}, the terminal asked ${t.amountMinor}`);
    const refunded = o ? o.refunds.reduce((s, r) => s + r.amountCents, 0) : 0;
    refunds += o?.refunds.length ?? 0;
    if (refunded > t.amountMinor) problems.push(`${where}: refunded ${refunded} of ${t.amountMinor}`);
    const simApproved = o?.status === 'approved';
    const fullyRefunded = simApproved && refunded === t.amountMinor;
    if (!o) {
      if (state !== 'failed') problems.push(`${where}: no PartPay order but ${state}`);
    } else if (simApproved) {
      if (PAID.has(state)) {
        if (p['refunded_minor'] !== refunded) problems.push(`${where}: daemon refunded ${String(p['refunded_minor'])}, PartPay ${refunded}`);
      } else if (fullyRefunded) {
        lateApprovalsRefunded += 1;
      } else {
        problems.push(`${where}: PartPay approved, daemon ${state}, refunded ${refunded} of ${t.amountMinor}`);
      }
    } else {
      const allowed: Record<string, string[]> = { declined: ['declined'], cancelled: ['cancelled', 'expired', 'failed'], expired: ['expired', 'failed'], pending: ['failed'] };
      if (!(allowed[o.status] ?? []).includes(state)) problems.push(`${where}: PartPay ${o.status}, daemon ${state}`);
    }
    // What the terminal was told must never contradict PartPay.
    for (const [channel, told] of [['long-poll', t.told.longPoll], ['sse', t.told.sse]] as const) {
      if (told === undefined) continue;
      if (told === null) problems.push(`${where}: ${channel} never reported a final state`);
      else if (PAID.has(told) && !simApproved) problems.push(`${where}: ${channel} told ${told}, PartPay ${o?.status ?? 'no order'}`);
      else if (!PAID.has(told) && simApproved && !fullyRefunded) problems.push(`${where}: ${channel} told ${told}, PartPay approved and not refunded`);
    }
    if (t.cancel?.status === 200 && simApproved && !fullyRefunded) problems.push(`${where}: cancel answered 200 but PartPay approved`);
    if (t.told.sse !== undefined && t.told.sse !== null && t.told.longPoll !== null && t.told.sse !== t.told.longPoll && !(PAID.has(t.told.sse) && PAID.has(t.told.longPoll))) {
      problems.push(`${where}: long-poll said ${t.told.longPoll}, SSE ${t.told.sse}`);
    }
  }
  const owed = await h.sql<{ state: string; kind: string; last_error: string | null }>("SELECT state, kind, last_error FROM outbox WHERE state != 'done'");
  for (const row of owed) problems.push(`${fault}: outbox ${row.kind} left ${row.state} (${row.last_error ?? ''})`);
  const pendingRefunds = await countOf(h, "SELECT count(*) AS n FROM refunds WHERE state = 'pending'");
  if (pendingRefunds > 0) problems.push(`${fault}: ${pendingRefunds} refunds still pending`);
  const byReconcile = await countOf(h, "SELECT count(*) AS n FROM payments WHERE resolved_by = 'reconcile'");
  const view = h.sim.faults();
  const stats = h.sim.stats();
  return {
    fault,
    payments: tracked.length,
    faultsInjected: Object.values(view.injected).reduce((s, n) => s + n, 0),
    injected: view.injected,
    outcomes,
    lateApprovalsRefunded,
    resolvedByReconcile: byReconcile,
    refunds,
    callbacks: { sent: stats.callbacksSent, abandoned: stats.callbacksFailed, attempts: stats.callbackAttempts },
    durationMs: Date.now() - started,
    problems,
  };
}
