import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, TERMINAL_KEY } from '../support/harness.js';
import { daemonProcess, writeDaemonConfig } from './daemon-process.js';
import { startSims, type Sims } from './sims-client.js';
import { dice, longPollFinal, OPEN, PAID, pool, recordSummary, SCALE, SEED, sleep, sseFinal, terminalCall, until } from './support.js';

// The built daemon as a real process, killed with SIGKILL at seeded moments while payments
// flow (mid-create, mid-callback, mid-delivery, or anywhere), restarted each time on the same
// database. The simulators live in a process of their own, so they outlive every crash.

const root = resolve(import.meta.dirname, '../..');
const AUTH = { Authorization: `Bearer ${TERMINAL_KEY}` };
/** This suite's own multiplier (`CHAOS_CRASH_SCALE`, else `CHAOS_SCALE`): `npm run test:chaos` sets 42, for 1,008 payments and 101 kills. */
const CRASH_SCALE = Math.max(1, Number.parseFloat(process.env['CHAOS_CRASH_SCALE'] ?? '') || SCALE);
const PAYMENTS = Math.round(24 * CRASH_SCALE);
/** A kill per 10 payments, at least 4. */
const KILLS = Math.max(4, Math.ceil(PAYMENTS / 10));
/** About how long one kill takes (the killer's pause, then a restart): payments are spread over the kills. */
const KILL_CYCLE_MS = 3_200;

let dir: string;
let sims: Sims;
let daemon: ReturnType<typeof daemonProcess>;
let base: string;
let dbPath: string;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-crash-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  sims = await startSims(base);
  const configFile = writeDaemonConfig(dir, port, sims.partpayUrl);
  dbPath = join(dir, 'chaos.db');
  daemon = daemonProcess(configFile, dir);
  await daemon.start();
}, 30_000);

afterAll(async () => {
  await daemon?.stop('SIGTERM');
  await sims?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Kind = 'random' | 'mid-upstream' | 'mid-callback' | 'mid-delivery';

describe('crash recovery: SIGKILL at random moments loses no payment', () => {
  it(`${PAYMENTS} payments through ${KILLS} SIGKILLs end consistent with PartPay`, { timeout: 90_000 * CRASH_SCALE }, async () => {
    const started = Date.now();
    const deadline = Date.now() + 60_000 * CRASH_SCALE;
    // Payments keep coming for as long as the kills go on.
    const spacingMs = Math.max(40, (KILLS * KILL_CYCLE_MS) / PAYMENTS);
    const killer = dice(SEED + 7);
    const kills: Kind[] = [];
    // Orders whose QR a terminal shows: the only ones a customer can approve.
    const shown = new Set<string>();
    let streaming = true;

    const stream = pool(Array.from({ length: PAYMENTS }, (_, i) => i), 16, async (i) => {
      const d = dice(SEED * 7 + i);
      await sleep(Math.max(0, started + d.int(0, 300) + i * spacingMs - Date.now()));
      const plan = d.pick({ approve: 60, decline: 20, cancel: 10, refund: 10 });
      const amountMinor = d.int(100, 30_000);
      const created = await terminalCall<{ id: string; version: number; partpay: { orderId: string } | null; error?: { details?: { paymentId?: string } } }>(
        `${base}/v1/payments`,
        { headers: { ...AUTH, 'Idempotency-Key': `crash-${i}` }, json: { amountMinor, currency: 'NZD', merchantReference: `crash-${i}` } },
        deadline,
      );
      // 201 created, 200 an idempotent replay (the retry of a create the crash cut off).
      if (created.status !== 201 && created.status !== 200) return { i, plan, amountMinor, id: created.body.error?.details?.paymentId ?? null, told: `create ${created.status}` };
      const id = created.body.id;
      const orderId = created.body.partpay?.orderId as string;
      shown.add(orderId);
      const sse = i % 3 === 0 ? sseFinal(base, AUTH, id, deadline) : null;
      await sleep(d.int(0, 400));
      if (plan === 'decline') await sims.decline(orderId).catch(() => undefined);
      else if (plan === 'cancel') await terminalCall(`${base}/v1/payments/${id}/cancel`, { headers: AUTH, json: {} }, deadline);
      else await sims.approve(orderId).catch(() => undefined);
      const final = await longPollFinal(base, AUTH, id, created.body.version, deadline);
      if (plan === 'refund' && final.state === 'approved') {
        await terminalCall(`${base}/v1/payments/${id}/refunds`, { headers: { ...AUTH, 'Idempotency-Key': `crash-${i}-refund` }, json: { amountMinor: Math.ceil(amountMinor / 2) } }, deadline);
      }
      return { i, plan, amountMinor, id, told: final.state, sse: sse ? await sse : undefined };
    }).finally(() => {
      streaming = false;
    });

    // The killer: a seeded pause, a seeded kind of moment, SIGKILL, restart on the same database.
    // All KILLS happen (counted only when the process died of the SIGKILL); those that landed
    // while payments were still being made are counted apart.
    let midStream = 0;
    const notKilled: string[] = [];
    for (let k = 0; k < KILLS; k += 1) {
      await sleep(killer.int(300, 1_200));
      const kind = killer.pick<Kind>({ random: 1, 'mid-upstream': 1, 'mid-callback': 1, 'mid-delivery': 1 });
      if (kind === 'mid-upstream') {
        // Every PartPay call answers late: creates, cancels and refunds are done upstream but unanswered when the kill lands.
        await sims.setFaults({ seed: SEED + k, api: { slow: 1, slowMs: 400 } });
        await sleep(250);
      } else if (kind === 'mid-callback') {
        for (const orderId of (await sims.pendingOrders()).filter((o) => shown.has(o)).slice(0, 3)) await sims.approve(orderId).catch(() => undefined);
      } else if (kind === 'mid-delivery') {
        // PartPay fails for a moment: cancels and refunds are owed from the outbox; the kill lands while it delivers them.
        await sims.setFaults({ seed: SEED + k, api: { error5xx: 1 } });
        await sleep(400);
        await sims.setFaults({});
        await sleep(killer.int(0, 1_100));
      }
      const wasStreaming = streaming;
      await daemon.stop('SIGKILL');
      const signal = await daemon.exited();
      if (signal === 'SIGKILL') {
        kills.push(kind);
        if (wasStreaming) midStream += 1;
      } else notKilled.push(`kill ${k + 1} (${kind}): the daemon ended by ${signal ?? 'an exit code'}, not the SIGKILL`);
      await sims.setFaults({});
      await sleep(killer.int(0, 300));
      await daemon.start();
    }
    const tracked = await stream;

    // Quiescence: nothing open, nothing owed, no refund pending.
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      const quiet = () =>
        count("SELECT count(*) AS n FROM payments WHERE state IN ('created','awaiting_customer')") === 0 &&
        count("SELECT count(*) AS n FROM outbox WHERE state = 'pending'") === 0 &&
        count("SELECT count(*) AS n FROM refunds WHERE state = 'pending'") === 0;
      await until(quiet, () => sleep(200), 30_000);
      await sleep(500);

      const problems: string[] = [];
      const orders = await sims.orders();
      const byRef = new Map<string, typeof orders>();
      for (const o of orders) byRef.set(o.gatewayReference, [...(byRef.get(o.gatewayReference) ?? []), o]);
      const known = new Set<string>();
      const outcomes: Record<string, number> = {};
      for (const t of tracked) {
        const where = `#${t.i} (${t.plan}, told ${t.told})`;
        if (!t.id) {
          problems.push(`${where}: the terminal never learned its payment`);
          continue;
        }
        known.add(t.id);
        const p = db.prepare('SELECT state, refunded_minor, amount_minor, attention FROM payments WHERE id = ?').get(t.id) as { state: string; refunded_minor: number; amount_minor: number } | undefined;
        if (!p) {
          problems.push(`${where}: payment ${t.id} lost`);
          continue;
        }
        outcomes[p.state] = (outcomes[p.state] ?? 0) + 1;
        if (OPEN.has(p.state)) problems.push(`${where}: still ${p.state}`);
        const mine = byRef.get(t.id) ?? [];
        if (mine.length > 1) problems.push(`${where}: ${mine.length} PartPay orders`);
        const o = mine[0];
        if (p.amount_minor !== t.amountMinor) problems.push(`${where}: daemon holds ${p.amount_minor}, the terminal asked ${t.amountMinor}`);
        if (o && o.amountCents !== t.amountMinor) problems.push(`${where}: PartPay's order is for ${o.amountCents}, the terminal asked ${t.amountMinor}`);
        const refunded = o ? o.refunds.reduce((s, r) => s + r.amountCents, 0) : 0;
        const simApproved = o?.status === 'approved';
        const lateRefunded = simApproved && !PAID.has(p.state) && refunded === p.amount_minor;
        if (simApproved && !PAID.has(p.state) && !lateRefunded) problems.push(`${where}: approval lost (PartPay approved, daemon ${p.state})`);
        if (!simApproved && PAID.has(p.state)) problems.push(`${where}: daemon ${p.state}, PartPay ${o?.status ?? 'no order'}`);
        if (PAID.has(p.state) && p.refunded_minor !== refunded) problems.push(`${where}: daemon refunded ${p.refunded_minor}, PartPay ${refunded}`);
        if (refunded > p.amount_minor) problems.push(`${where}: refunded ${refunded} of ${p.amount_minor}`);
        for (const told of [t.told, t.sse]) {
          if (told === undefined || told === null || told.startsWith('create')) continue;
          if (PAID.has(told) !== simApproved && !lateRefunded) problems.push(`${where}: terminal told ${told}, PartPay ${o?.status ?? 'no order'}`);
        }
      }
      const extra = (db.prepare('SELECT id, state FROM payments').all() as Array<{ id: string; state: string }>).filter((p) => !known.has(p.id));
      for (const p of extra) problems.push(`payment ${p.id} (${p.state}) that no terminal knows of`);
      const owed = db.prepare("SELECT kind, state, last_error FROM outbox WHERE state != 'done'").all() as Array<{ kind: string; state: string; last_error: string | null }>;
      for (const r of owed) problems.push(`outbox ${r.kind} left ${r.state} (${r.last_error ?? ''})`);
      const stuck = db.prepare("SELECT id, payment_id FROM refunds WHERE state = 'pending'").all() as Array<{ id: string; payment_id: string }>;
      for (const r of stuck) problems.push(`refund ${r.id} of payment ${r.payment_id} stuck pending`);

      const summary = { scale: CRASH_SCALE, seed: SEED, payments: tracked.length, crashes: kills.length, crashesWhilePaying: midStream, kinds: kills, outcomes, upstreamOrders: orders.length, problems: problems.length, durationMs: Date.now() - started };
      console.log(`[chaos] crash: ${tracked.length} payments, ${kills.length} SIGKILLs (${kills.join(', ')}; ${midStream} while payments were being made), ${problems.length === 0 ? 'consistent' : `${problems.length} PROBLEMS`} ${JSON.stringify(outcomes)}`);
      await recordSummary('crash', summary);
      expect(problems).toEqual([]);
      // The precondition of the name: the kills happened, each one ending the daemon, most of them mid-flow.
      expect(notKilled).toEqual([]);
      expect(kills).toHaveLength(KILLS);
      expect(daemon.starts()).toBe(KILLS + 1);
      expect(midStream, 'SIGKILLs that landed while payments were being made').toBeGreaterThanOrEqual(Math.ceil(KILLS / 2));
    } finally {
      db.close();
    }
  });
});

describe('crash recovery: a refund cut off by a crash', () => {
  // Regression: the pending refund used to be committed without an outbox row, so a crash
  // during the PartPay call stranded it. It is now owed in the same transaction.
  it('is delivered after the restart and counted once', { timeout: 40_000 }, async () => {
    if (!daemon.alive()) await daemon.start();
    const created = await terminalCall<{ id: string; version: number; partpay: { orderId: string } }>(`${base}/v1/payments`, { headers: { ...AUTH, 'Idempotency-Key': 'refund-crash-1' }, json: { amountMinor: 4000, currency: 'NZD', merchantReference: 'refund-crash-1' } });
    expect(created.status).toBe(201);
    await sims.approve(created.body.partpay.orderId);
    expect((await longPollFinal(base, AUTH, created.body.id, created.body.version, Date.now() + 10_000)).state).toBe('approved');
    // PartPay does the refund but answers late; the daemon dies while waiting for the answer.
    await sims.setFaults({ api: { slow: 1, slowMs: 600 } });
    const refund = { headers: { ...AUTH, 'Idempotency-Key': 'refund-crash-1-r' }, json: { amountMinor: 1500 } };
    let answered = false;
    void terminalCall(`${base}/v1/payments/${created.body.id}/refunds`, refund, Date.now() + 1_000).then(
      () => (answered = true),
      () => undefined,
    );
    const refundsAtPartPay = async () => (await sims.orders(created.body.id)).flatMap((o) => o.refunds);
    const reached = await until(async () => (await refundsAtPartPay()).length > 0, () => sleep(20), 5_000, 10);
    // The precondition of the name: PartPay made the refund, and the daemon is killed before it heard so.
    expect(reached, 'the refund reached PartPay before the kill').toBe(true);
    expect((await refundsAtPartPay()).map((r) => r.amountCents)).toEqual([1500]);
    await daemon.stop('SIGKILL');
    expect(await daemon.exited()).toBe('SIGKILL');
    // ...and the daemon had neither answered the till nor recorded PartPay's answer when it died.
    expect(answered, 'the daemon answered the refund before the kill').toBe(false);
    const atKill = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      expect(atKill.prepare('SELECT state FROM refunds WHERE payment_id = ?').all(created.body.id), 'the refund as the daemon held it when killed').toEqual([{ state: 'pending' }]);
    } finally {
      atKill.close();
    }
    await sims.setFaults({});
    await daemon.start();
    const retried = await terminalCall<{ refund: { state: string } }>(`${base}/v1/payments/${created.body.id}/refunds`, refund, Date.now() + 10_000);
    expect([201, 202]).toContain(retried.status);
    const settled = await until(
      async () => (await terminalCall<{ refundedMinor: number }>(`${base}/v1/payments/${created.body.id}`, { headers: AUTH })).body.refundedMinor === 1500,
      () => sleep(250),
      8_000,
    );
    expect((await refundsAtPartPay()).reduce((a, r) => a + r.amountCents, 0)).toBe(1500);
    expect(settled).toBe(true);
  });
});

describe('graceful stop: SIGTERM ends long-polls and event streams cleanly', () => {
  it('answers an open long-poll, ends an SSE stream with a shutdown event, and exits 0', { timeout: 30_000 }, async () => {
    if (!daemon.alive()) await daemon.start();
    const created = await terminalCall<{ id: string; version: number }>(`${base}/v1/payments`, { headers: { ...AUTH, 'Idempotency-Key': 'sigterm-1' }, json: { amountMinor: 1234, currency: 'NZD', merchantReference: 'sigterm-1' } });
    expect(created.status).toBe(201);
    const { id, version } = created.body;
    const poll = fetch(`${base}/v1/payments/${id}?wait=30&version=${version}`, { headers: AUTH }).then(async (r) => ({ status: r.status, body: (await r.json()) as { state: string } }));
    const sse = fetch(`${base}/v1/payments/${id}/events`, { headers: AUTH }).then(async (r) => r.text());
    await sleep(300);
    const code = await daemon.stop('SIGTERM');
    const answered = await poll;
    const events = await sse;
    expect(code).toBe(0);
    expect(answered.status).toBe(200);
    expect(answered.body.state).toBe('awaiting_customer');
    expect(events).toContain('event: shutdown');
    expect(daemon.output()).toContain('"message":"stopped"');
  });
});
