import { posSale, tillSale, type PosSale, type Sale, type TillSale } from './actors.js';
import { checkInvariants } from './invariants.js';
import { createPartnerPeer, type PartnerPeerFaults } from './partner-peer.js';
import { createPartPayPeer, type PartPayPeerFaults } from './partpay-peer.js';
import { SIM, simConfig } from './sim-config.js';
import { NO_FAULTS, type LinkFaults } from './transport.js';
import { createWorld } from './world.js';

export interface SimOptions {
  seed: number;
  /** Sales per till and per POS lane (each till and lane sells one after another). */
  salesPerActor?: number;
  /** Crash the daemon at random moments (up to `maxCrashes`). */
  maxCrashes?: number;
  /** Keep the whole trace in the result. */
  keepTrace?: boolean;
  /** PostgreSQL mode: `daemons` daemons (default 2) sharing a fresh database at `url` (not replayable; see createWorld). */
  postgres?: { url: string; daemons?: number };
}

export interface SimResult {
  seed: number;
  problems: string[];
  stats: { lateApprovals: number; sales: number; payments: number; crashes: number; upstreamCalls: Record<string, number>; virtualMinutes: number };
  trace: string[];
}

/** How long the parties act; then the world calms down (faults off) and the daemon gets time to settle everything owed. */
const ACTIVE_MS = 150_000;
const SETTLE_MS = 20 * 60_000;

/**
 * One seeded run of the daemon among its peers: tills selling through PartPay, POS lanes selling
 * through Electrum partners, faults on every link and in every peer, crashes at random moments,
 * the jobs on their schedules. Then the faults stop, everything owed is given time to go out,
 * and the invariants are checked against the peers' ledgers.
 * @example const result = await runSeed({ seed: 42 }); if (result.problems.length) console.log(result.trace.join('\n'));
 */
export async function runSeed(options: SimOptions): Promise<SimResult> {
  const world = createWorld({ seed: options.seed, config: simConfig, ...(options.postgres ? { postgres: options.postgres } : {}) });
  const rng = world.rng;
  let calm = false;
  // Each run draws its own fault levels, so runs differ in how hostile the world is.
  const level = (name: string, max: number) => (rng.chance(`level.${name}.on`, 0.6) ? rng.next(`level.${name}`) * max : 0);
  const link: LinkFaults = { drop: level('drop', 0.08), reset: level('reset', 0.08), error5xx: level('5xx', 0.15), rateLimit: level('429', 0.08), slow: level('slow', 0.08), slowMs: 3_000, minDelayMs: 1, maxDelayMs: rng.int('latency', 5, 400) };
  const partpayFaults: PartPayPeerFaults = {
    approve: 0.7,
    decline: 0.1,
    decideWithinMs: rng.int('decide', 2_000, 90_000),
    callbackDrop: level('cb.drop', 0.3),
    callbackDuplicate: level('cb.dup', 0.3),
    callbackAckLost: level('cb.acklost', 0.3),
    callbackReorder: level('cb.reorder', 0.3),
    refundPending: level('refund.pending', 0.3),
    refundDeclined: level('refund.declined', 0.1),
    tokenError: level('token', 0.1),
  };
  // Some partners take a while to decide, careful ones even past our timeout; racy ones (a reversal
  // during processing overwritten by the approval) answer in time, as the spec asks.
  const racy = rng.chance('racy.partner', 0.5);
  const processingMs = rng.int('processing', 100, racy ? 4_000 : 8_000);
  const partnerFaults: PartnerPeerFaults = { decline: 0.1, partial: level('partial', 0.2), noAnswer: level('noanswer', 0.1), error500: level('500', 0.1), processingMs, racy };
  const calmLink = (): LinkFaults => (calm ? NO_FAULTS : link);

  const partpay = createPartPayPeer(world, { protocol: world.config.partpay.protocol, merchantId: SIM.merchantId, callbackKey: SIM.callbackKey, faults: () => (calm ? { ...partpayFaults, callbackDrop: 0, tokenError: 0 } : partpayFaults) });
  const partners = SIM.partners.map((p) => createPartnerPeer(world, { id: p.id, name: p.name, faults: () => (calm ? { ...partnerFaults, noAnswer: 0, error500: 0 } : partnerFaults) }));
  world.transport.link(SIM.partpayOrigin, 'partpay', partpay.peer, calmLink);
  for (const [i, p] of SIM.partners.entries()) world.transport.link(p.origin, p.id, (partners[i] as (typeof partners)[number]).peer, calmLink);

  await world.boot();
  // The daemons' jobs, on the virtual clock (an overlapping run is skipped, as the scheduler
  // does). In a fleet every daemon schedules every job; the database decides who runs it.
  const every = (ms: number, name: string) => {
    const running = new Map<number, { incarnation: number }>();
    const tick = () => {
      for (const { daemon, life, run } of world.daemons()) {
        const busy = running.get(life.slot);
        if (busy && busy.incarnation === life.incarnation) continue;
        const job = daemon.jobs.find((j) => j.name === name);
        const mine = { incarnation: life.incarnation };
        running.set(life.slot, mine);
        const done = () => void (running.get(life.slot) === mine && running.delete(life.slot));
        void Promise.resolve(run(() => job?.run())).then(done, (error: unknown) => {
          world.trace(`job ${name} failed: ${(error as Error).message}`);
          done();
        });
      }
      world.after(ms, tick);
    };
    world.after(ms, tick);
  };
  every(1_000, 'deliver-outbox');
  every(5_000, 'reconcile');
  every(5_000, 'expire');

  const sales: Sale[] = [];
  const perActor = options.salesPerActor ?? 3;
  const actors: Array<Promise<void>> = [];
  for (const till of SIM.terminals) {
    actors.push(
      (async () => {
        await new Promise<void>((r) => world.after(rng.int('start', 0, 5_000), r));
        for (let i = 0; i < perActor; i += 1) {
          const sale: TillSale = { kind: 'partpay', paymentId: null, amountMinor: rng.int('amount', 100, 50_000), told: null, refundedMinor: 0 };
          sales.push(sale);
          await tillSale(world, till, sale, partpay);
        }
      })(),
    );
  }
  for (const lane of SIM.pos.terminals.keys()) {
    actors.push(
      (async () => {
        await new Promise<void>((r) => world.after(rng.int('start', 0, 5_000), r));
        for (let i = 0; i < perActor; i += 1) {
          const sale: PosSale = { kind: 'electrum', requestId: rng.uuid('pos.request'), tranId: null, amountMinor: rng.int('amount', 100, 50_000), told: null, advice: null };
          sales.push(sale);
          await posSale(world, lane, partners, sale);
        }
      })(),
    );
  }
  // The store's uplink drops now and then (PartPay and partners unreachable both ways).
  const outages = rng.chance('outages', 0.6) ? rng.int('outages.n', 1, 2) : 0;
  for (let i = 0; i < outages; i += 1) world.outage(rng.int('outage.at', 1_000, ACTIVE_MS - 20_000), rng.int('outage.ms', 3_000, 40_000));
  const crashes = rng.int('crashes', 0, options.maxCrashes ?? 2);
  for (let i = 0; i < crashes; i += 1) world.after(rng.int('crash.at', 1_000, ACTIVE_MS), () => world.crash());

  const actorsDone = Promise.all(actors);
  let stopped: string | null = null;
  try {
    await world.advance(ACTIVE_MS);
    calm = true;
    world.trace('--- calm: faults off, settling ---');
    await world.advance(SETTLE_MS);
    let settled = false;
    void actorsDone.then(() => (settled = true));
    await world.advance(1);
    if (!settled) world.problems.push(`an actor never finished: the daemon never answered ${world.pending().join('; ') || '(no request in flight)'}`);
  } catch (error) {
    // The world itself could not go on (PostgreSQL mode: the database never went quiet).
    stopped = (error as Error).message;
    world.problems.push(`the run stopped: ${stopped}`);
  }
  const problems = [...world.problems, ...(stopped ? [] : await checkInvariants(world, { partpay, partners }, sales))];
  const count = async (sql: string) => (stopped ? 0 : Number((await world.sql<{ n: number | string }>(sql))[0]?.n ?? 0));
  const result: SimResult = {
    seed: options.seed,
    problems,
    stats: {
      lateApprovals: await count("SELECT count(DISTINCT payment_id) AS n FROM payment_events WHERE kind = 'state_changed' AND detail LIKE '%late_approval%'"),
      sales: sales.length,
      payments: await count('SELECT count(*) AS n FROM payments'),
      crashes: world.crashes,
      upstreamCalls: { ...world.transport.counts },
      virtualMinutes: Math.round((ACTIVE_MS + SETTLE_MS) / 60_000),
    },
    trace: problems.length > 0 || options.keepTrace ? [...world.traceLines] : [],
  };
  await world.dispose();
  return result;
}
