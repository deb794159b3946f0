import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { settledMinor, type Attention, type PaymentState } from '../../src/payments/state-machine.js';
import { daemonProcess, writeDaemonConfig } from '../chaos/daemon-process.js';
import { startSims, type Sims } from '../chaos/sims-client.js';
import { dice, OPEN, PAID, pool, recordSummary, SCALE, SEED, sleep, until } from '../chaos/support.js';
import { freePort } from '../support/harness.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';
import { electrumSale, partpaySale, type ElectrumSale, type PartPaySale } from './fleet-flows.js';
import { startFleetFront, type FleetFront } from './fleet-front.js';

// Three daemon processes (the built dist/main.js) on one PostgreSQL database, one of them
// SIGKILLed at random moments and started again while PartPay payments and Electrum sales flow:
// tills talk to "their" daemon and fail over to another when it dies; PartPay's callbacks and the
// wallet partner's scans come through one front that hands each to a live daemon. At the end every
// payment must agree with the simulators' books, nothing owed may be left or given twice, and every
// till must have heard its outcome.

const root = resolve(import.meta.dirname, '../..');
const DAEMONS = 3;
const PARTPAY = Math.round(180 * SCALE);
const ELECTRUM = Math.round(120 * SCALE);
const CONCURRENCY = 24;
/** The sales start spread over this long (then as fast as the fleet takes them). */
const SPREAD_MS = 60_000 * SCALE;
/** A daemon killed mid-delivery leaves its claims to the others after this (config `outbox.leaseMs`). */
const LEASE_MS = 4_000;

interface Member {
  port: number;
  base: string;
  process: ReturnType<typeof daemonProcess>;
}

type Row = { id: string; provider: string; state: PaymentState; amount_minor: string; approved_minor: string | null; refunded_minor: string; attention: Attention | null; request_id: string | null; partner_request_id: string | null };

describeWhenAvailable('a fleet of daemons on one PostgreSQL database, SIGKILLed at random', [tools.postgres()], () => {
  let dir: string;
  let server: TestPostgres;
  let databaseUrl: string;
  let front: FleetFront;
  let sims: Sims;
  const fleet: Member[] = [];
  let db: pg.Pool;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
    dir = mkdtempSync(join(tmpdir(), 'tenderbridge-fleet-'));
    server = await startPostgres();
    databaseUrl = await server.createDatabase();
    const ports: number[] = [];
    for (let k = 0; k < DAEMONS; k += 1) ports.push(await freePort());
    front = await startFleetFront(() => ports);
    sims = await startSims(front.url);
    for (const [k, port] of ports.entries()) {
      const own = join(dir, `daemon-${k}`);
      mkdirSync(own);
      const config = writeDaemonConfig(own, port, sims.partpayUrl, {
        partnerUrl: sims.partnerUrl,
        database: { kind: 'postgres', url: { env: 'TENDERBRIDGE_DATABASE_URL' }, pool: { max: 8 } },
        callbackUrl: `${front.url}/partpay/callback`,
        outbox: { leaseMs: LEASE_MS },
      });
      fleet.push({ port, base: `http://127.0.0.1:${port}`, process: daemonProcess(config, own, { readyWithinMs: 90_000 }) });
    }
    // The first creates the schema; the others join it.
    for (const m of fleet) await m.process.start({ TENDERBRIDGE_DATABASE_URL: databaseUrl });
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(fleet.map((m) => m.process.stop('SIGTERM')));
    await db?.end();
    await front?.close();
    await sims?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);

  it(`${PARTPAY} PartPay payments and ${ELECTRUM} Electrum sales through SIGKILLs of its daemons end consistent with PartPay and the partner`, { timeout: 300_000 * SCALE }, async () => {
    const started = Date.now();
    const deadline = started + 200_000 * SCALE;
    const bases = fleet.map((m) => m.base);
    const ctx = { bases, sims, deadline };
    let streaming = true;
    const work = [...Array.from({ length: PARTPAY }, (_, i) => ({ kind: 'partpay' as const, i })), ...Array.from({ length: ELECTRUM }, (_, i) => ({ kind: 'electrum' as const, i }))];
    // Mixed: PartPay and Electrum sales side by side, in a seeded order.
    const order = dice(SEED + 15);
    for (let k = work.length - 1; k > 0; k -= 1) {
      const j = order.int(0, k);
      [work[k], work[j]] = [work[j] as (typeof work)[number], work[k] as (typeof work)[number]];
    }
    // Paced over SPREAD_MS, so that the killer has the time for its kills (a restart takes seconds on a busy box).
    const stream = pool(work, CONCURRENCY, async (w, k) => {
      await sleep(started + (k * SPREAD_MS) / work.length - Date.now());
      return w.kind === 'partpay' ? partpaySale(ctx, w.i, SEED) : electrumSale(ctx, w.i, SEED);
    }).finally(() => {
      streaming = false;
    });

    // The killer: every 1-3 s a serving daemon, never the last one, SIGKILLed, and started again
    // after a short pause in the background (now and then another dies meanwhile: one serves all).
    const killer = dice(SEED + 16);
    const kills: number[] = [];
    const notKilled: string[] = [];
    const restarts: Array<Promise<void>> = [];
    const notRestarted: string[] = [];
    let whilePaying = 0;
    let oneLeft = 0;
    // Serving: started and not killed since (a daemon is killed only once it is ready again).
    const serving = new Set(fleet.keys());
    const alive = () => [...serving].sort();
    while (streaming) {
      await Promise.race([sleep(killer.int(1_000, 3_000)), stream.catch(() => undefined)]);
      const up = alive();
      // Usually the whole fleet serves when one dies; now and then one is still restarting (then a single daemon is left).
      if (!streaming || up.length < 2 || (up.length < DAEMONS && killer.next() < 0.5)) continue;
      const victim = up[killer.int(0, up.length - 1)] as number;
      const m = fleet[victim] as Member;
      serving.delete(victim);
      await m.process.stop('SIGKILL');
      const signal = await m.process.exited();
      if (signal !== 'SIGKILL') notKilled.push(`daemon ${victim} ended by ${signal ?? 'an exit code'}, not the SIGKILL`);
      kills.push(victim);
      if (streaming) whilePaying += 1;
      if (up.length === 2) oneLeft += 1;
      const pause = killer.int(300, 1_500);
      restarts.push(
        sleep(pause)
          .then(() => m.process.start({ TENDERBRIDGE_DATABASE_URL: databaseUrl }))
          .then(
            () => void serving.add(victim),
            (error: unknown) => void notRestarted.push(`daemon ${victim}: ${(error as Error).message.slice(0, 300)}`),
          ),
      );
    }
    const sales = await stream;
    await Promise.all(restarts);
    for (const m of fleet) if (!m.process.alive()) await m.process.start({ TENDERBRIDGE_DATABASE_URL: databaseUrl });

    // Settle: nothing open, owed or pending (a dead daemon's claims come due again after the lease).
    const quiet = async () =>
      (await count("SELECT count(*) AS n FROM payments WHERE state IN ('created','awaiting_customer')")) === 0 &&
      (await count("SELECT count(*) AS n FROM outbox WHERE state = 'pending'")) === 0 &&
      (await count("SELECT count(*) AS n FROM refunds WHERE state = 'pending'")) === 0;
    const settled = await until(quiet, () => sleep(250), 60_000);
    // Late callbacks and redeliveries land; then the books are read.
    await sleep(1_000);

    const problems: string[] = settled ? [] : ['the fleet never settled: something stayed open, owed or pending'];
    const rows = (await db.query<Row>('SELECT p.id, p.provider, p.state, p.amount_minor, p.approved_minor, p.refunded_minor, p.attention, e.request_id, e.partner_request_id FROM payments p LEFT JOIN electrum_payments e ON e.payment_id = p.id')).rows;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const byRequest = new Map(rows.filter((r) => r.request_id !== null).map((r) => [r.request_id as string, r]));
    const settledOf = (r: Row) =>
      settledMinor({ state: r.state, amountMinor: Number(r.amount_minor), approvedMinor: r.approved_minor === null ? null : Number(r.approved_minor), refundedMinor: Number(r.refunded_minor), attention: r.attention, upstreamOrderId: null, errorCode: null });
    const outcomes: Record<string, number> = {};
    for (const r of rows) outcomes[`${r.provider}:${r.state}`] = (outcomes[`${r.provider}:${r.state}`] ?? 0) + 1;
    for (const r of rows) if (OPEN.has(r.state)) problems.push(`payment ${r.id} (${r.provider}) still ${r.state}`);

    // PartPay: one order per payment, what the terminal was told agrees with it, refunds given once.
    const orders = await sims.orders();
    const ordersOf = new Map<string, typeof orders>();
    for (const o of orders) ordersOf.set(o.gatewayReference, [...(ordersOf.get(o.gatewayReference) ?? []), o]);
    const partpaySales = sales.filter((s): s is PartPaySale => 'told' in s);
    const known = new Set<string>();
    let toldElsewhere = 0;
    for (const s of partpaySales) {
      const where = `PartPay #${s.i} (${s.plan}, told ${s.told ?? `create ${String(s.createStatus)}`})`;
      if (s.id === null) {
        problems.push(`${where}: the terminal never learned its payment`);
        continue;
      }
      known.add(s.id);
      const p = byId.get(s.id);
      if (!p) {
        problems.push(`${where}: payment ${s.id} lost`);
        continue;
      }
      const mine = ordersOf.get(s.id) ?? [];
      if (mine.length > 1) problems.push(`${where}: ${mine.length} PartPay orders`);
      const o = mine[0];
      if (Number(p.amount_minor) !== s.amountMinor || (o && o.amountCents !== s.amountMinor)) problems.push(`${where}: the terminal asked ${s.amountMinor}, tenderbridge holds ${p.amount_minor}, PartPay ${String(o?.amountCents)}`);
      const refunded = o ? o.refunds.reduce((sum, r) => sum + r.amountCents, 0) : 0;
      const simApproved = o?.status === 'approved';
      const lateRefunded = simApproved && !PAID.has(p.state) && refunded === s.amountMinor;
      if (simApproved && !PAID.has(p.state) && !lateRefunded) problems.push(`${where}: approval lost (PartPay approved, tenderbridge ${p.state}, refunded ${refunded})`);
      if (!simApproved && PAID.has(p.state)) problems.push(`${where}: tenderbridge ${p.state}, PartPay ${o?.status ?? 'no order'}`);
      if (PAID.has(p.state) && Number(p.refunded_minor) !== refunded) problems.push(`${where}: tenderbridge refunded ${p.refunded_minor}, PartPay ${refunded}`);
      if (refunded > s.amountMinor) problems.push(`${where}: refunded ${refunded} of ${s.amountMinor}`);
      if (s.refundsAcknowledged > 0 && refunded !== s.refundsAcknowledged) problems.push(`${where}: the terminal was told ${s.refundsAcknowledged} would be refunded, PartPay refunded ${refunded}`);
      if (s.createStatus !== null) continue;
      if (s.told === null) problems.push(`${where}: the long-poll never heard the outcome`);
      else if (PAID.has(s.told) !== simApproved && !lateRefunded) problems.push(`${where}: the terminal was told ${s.told}, PartPay ${o?.status ?? 'no order'}`);
      if (s.toldBy !== null && s.toldBy !== s.i % DAEMONS) toldElsewhere += 1;
    }
    for (const r of rows) if (r.provider !== 'electrum' && !known.has(r.id)) problems.push(`payment ${r.id} (${r.state}) that no terminal knows of`);

    // Electrum: what the POS was told and what the partner keeps, each pay forwarded at most once, each advice applied once.
    const received = await sims.partnerReceived();
    const forwards = new Map<string, number>();
    for (const m of received.payments) forwards.set(m.requestId, (forwards.get(m.requestId) ?? 0) + 1);
    for (const [requestId, n] of forwards) if (n > 1) problems.push(`Electrum pay ${requestId} forwarded to the partner ${n} times`);
    const adviceIds = (list: typeof received.reversals) => {
      const ids = new Map<string, Set<string>>();
      for (const m of list) ids.set(m.requestId, (ids.get(m.requestId) ?? new Set()).add(m.id));
      return ids;
    };
    const confirmationIds = adviceIds(received.confirmations);
    const redeliveries = [...received.confirmations, ...received.reversals].length - [...confirmationIds.values(), ...adviceIds(received.reversals).values()].reduce((n, ids) => n + ids.size, 0);
    const electrumSales = sales.filter((s): s is ElectrumSale => 'requestIds' in s);
    let abandonedPays = 0;
    /** How the approved sales ended, by plan: tenderbridge's state (and attention) and the partner's. */
    const electrumEnds: Record<string, number> = {};
    /** What the POS's pays and the wallet's scans were answered. */
    const electrumAnswers: Record<string, number> = {};
    for (const a of electrumSales.flatMap((s) => s.answers)) electrumAnswers[a] = (electrumAnswers[a] ?? 0) + 1;
    for (const s of partpaySales) if (s.createStatus !== null) electrumAnswers[`PartPay create ${s.createStatus} ${s.createError ?? ''}`] = (electrumAnswers[`PartPay create ${s.createStatus} ${s.createError ?? ''}`] ?? 0) + 1;
    for (const s of electrumSales) {
      const where = `Electrum #${s.i} (${s.plan}, pay ${s.payStatus}, ${s.requestIds.length} pays)`;
      if (s.requestIds.length === 0) problems.push(`${where}: no QR code was ever made`);
      for (const requestId of s.requestIds) {
        const r = byRequest.get(requestId);
        const partnerId = r?.partner_request_id ?? requestId;
        const held = await sims.partnerPayment(partnerId);
        const keeps = held.settledMinor;
        const ours = r ? settledOf(r) : 0;
        if (held.amountMinor !== null && held.amountMinor !== s.amountMinor) problems.push(`${where}: the partner received a pay of ${held.amountMinor}`);
        if (requestId === s.approvedRequestId) {
          const state = s.plan.startsWith('confirm') ? 'confirmed' : 'reversed';
          const end = `${s.plan}: ${r?.state ?? 'none'}${r?.attention ? `/${r.attention}` : ''}, partner ${held.state}`;
          electrumEnds[end] = (electrumEnds[end] ?? 0) + 1;
          if (held.state !== state || keeps !== s.expectedKeep) problems.push(`${where}: the partner holds ${held.state} keeping ${keeps}, expected ${state} keeping ${s.expectedKeep}`);
          if (ours !== s.expectedKeep) problems.push(`${where}: tenderbridge ${r?.state ?? 'no payment'} keeps ${ours}, expected ${s.expectedKeep}`);
          if (s.plan.startsWith('confirm') && (confirmationIds.get(partnerId)?.size ?? 0) !== 1) problems.push(`${where}: the partner heard ${confirmationIds.get(partnerId)?.size ?? 0} different confirmations`);
        } else {
          // Abandoned (TIMEOUT reversal) or told not paid: nothing taken, on either side.
          abandonedPays += s.abandoned.includes(requestId) ? 1 : 0;
          if (keeps !== 0 || ours !== 0) problems.push(`${where}: pay ${requestId} the POS was not told approved: the partner keeps ${keeps} (${held.state}), tenderbridge ${ours} (${r?.state ?? 'no payment'})`);
        }
      }
    }

    const owed = (await db.query<{ kind: string; state: string; last_error: string | null }>("SELECT kind, state, last_error FROM outbox WHERE state != 'done'")).rows;
    for (const r of owed) problems.push(`outbox ${r.kind} left ${r.state} (${r.last_error ?? ''})`);
    const stuck = (await db.query<{ id: string; payment_id: string }>("SELECT id, payment_id FROM refunds WHERE state = 'pending'")).rows;
    for (const r of stuck) problems.push(`refund ${r.id} of payment ${r.payment_id} stuck pending`);

    const summary = {
      scale: SCALE,
      seed: SEED,
      payments: rows.length,
      partpaySales: partpaySales.length,
      electrumSales: electrumSales.length,
      electrumPays: electrumSales.reduce((n, s) => n + s.requestIds.length, 0),
      abandonedPays,
      kills: kills.length,
      killsWhilePaying: whilePaying,
      oneLeft,
      toldByAnotherDaemon: toldElsewhere,
      adviceRedeliveries: redeliveries,
      front: front.counts(),
      outcomes,
      electrumEnds,
      electrumAnswers,
      problems: problems.length,
      durationMs: Date.now() - started,
    };
    console.log(`[chaos] fleet: ${JSON.stringify(summary)}`);
    if (problems.length > 0) console.log(problems.slice(0, 40).join('\n'));
    await recordSummary('fleet', summary);
    expect(problems).toEqual([]);
    // The precondition of the name: daemons died under load, several times, each of the SIGKILL.
    expect(notKilled).toEqual([]);
    expect(notRestarted).toEqual([]);
    expect(whilePaying, 'SIGKILLs that landed while payments were being made').toBeGreaterThanOrEqual(6);
    expect(rows.length).toBeGreaterThanOrEqual(PARTPAY + ELECTRUM);
  });
});
