import { availableParallelism } from 'node:os';
import Database from 'better-sqlite3';
import { sampleDaemon } from './daemon-probe.js';
import { electrumFlow, type ElectrumFlow } from './electrum-flow.js';
import type { HttpClient } from './http-client.js';
import { closedLoop, sleep } from './loop.js';
import { flushHistogram } from './open-loop.js';
import { correlate, partpayFlow, type PartPayFlow } from './partpay-flow.js';
import { procStats, sampleRss } from './procs.js';
import type { Progress } from './progress.js';
import { BENCH, type Stack } from './setup.js';
import { latencies, round, spread, type LatencySummary, type Spread } from './stats.js';

export interface FlowSettings {
  concurrency: number[];
  rounds: number;
  flowSeconds: number;
  warmMs: number;
  decideMs: number;
}

/** CPU of every process on the box during a round, per flow: the daemon, the simulators, and this load generator. */
interface CpuShares {
  cpuPerFlow: number;
  simsCpuPerFlow: number;
  loadCpuPerFlow: number;
}

/** Starts counting CPU of the daemon, the simulators' process and this one. */
function cpuMeter(stack: Stack) {
  const d0 = procStats(stack.daemon.pid).cpuMs;
  const s0 = procStats(stack.sims.child.pid as number).cpuMs;
  const l0 = process.cpuUsage();
  return (flows: number): CpuShares => {
    const l = process.cpuUsage(l0);
    const n = Math.max(1, flows);
    return {
      cpuPerFlow: (procStats(stack.daemon.pid).cpuMs - d0) / n,
      simsCpuPerFlow: (procStats(stack.sims.child.pid as number).cpuMs - s0) / n,
      loadCpuPerFlow: (l.user + l.system) / 1000 / n,
    };
  };
}

/** The CPU figures of a level, and the flows/s the box's cores could give if CPU were the only limit. */
function cpuSummary(rounds: CpuShares[]) {
  const cores = availableParallelism();
  return {
    daemonCpuMsPerFlow: spread(rounds.map((x) => x.cpuPerFlow)),
    simulatorsCpuMsPerFlow: spread(rounds.map((x) => x.simsCpuPerFlow)),
    loadGeneratorCpuMsPerFlow: spread(rounds.map((x) => x.loadCpuPerFlow)),
    cpuBoundFlowsPerSec: spread(rounds.map((x) => (cores * 1000) / (x.cpuPerFlow + x.simsCpuPerFlow + x.loadCpuPerFlow))),
    daemonOnlyCpuBoundFlowsPerSec: spread(rounds.map((x) => (cores * 1000) / x.cpuPerFlow)),
  };
}

interface PartPayRound extends CpuShares {
  perSec: number;
  errors: number;
  n: number;
  pollLate: number;
  create: LatencySummary;
  createRtt: LatencySummary;
  upstream: LatencySummary;
  qr: LatencySummary;
  cbToTerminal: LatencySummary;
  cbAck: LatencySummary;
}

const p50p99 = <R>(rounds: R[], f: (r: R) => LatencySummary): { p50: Spread; p99: Spread } => ({ p50: spread(rounds.map((r) => f(r).p50)), p99: spread(rounds.map((r) => f(r).p99)) });
const total = <R>(rounds: R[], f: (r: R) => number): number => rounds.reduce((n, r) => n + f(r), 0);

/** The daemon's WAL flushes so far (the flush histogram's count); NaN for a build without the metric. */
async function flushCount(http: HttpClient): Promise<number> {
  return flushHistogram((await http.send('GET', '/metrics')).body.toString('utf8'))?.count ?? Number.NaN;
}

/** Full PartPay flows at each concurrency level; records the max RSS seen per level in `rss`. */
export async function partpayPhase(stack: Stack, http: HttpClient, s: FlowSettings, progress: Progress, rss: Record<string, number>) {
  const flow = partpayFlow(http, BENCH.terminals[0].key);
  // Warm-up: JIT, the PartPay token, connection pools.
  const warm = await closedLoop(8, s.warmMs, flow);
  if (warm.errors > 0) throw new Error(`PartPay warm-up failed: ${warm.firstError}`);
  let seen = warm.all.length;
  await sleep(100);
  await stack.sims.drain();
  const byConcurrency: Record<string, unknown> = {};
  for (const c of s.concurrency) {
    const rounds: PartPayRound[] = [];
    const sampler = sampleRss(stack.daemon.pid);
    const flushesBefore = await flushCount(http);
    for (let r = 1; r <= s.rounds; r++) {
      const meter = cpuMeter(stack);
      const loop = await closedLoop<PartPayFlow>(c, s.flowSeconds * 1000, flow);
      const cpu = meter(loop.all.length);
      await sleep(150); // let the last callbacks' timings land
      const corr = correlate(loop.all, await stack.sims.drain());
      seen += loop.all.length;
      const x: PartPayRound = {
        perSec: (loop.results.length * 1000) / loop.windowMs,
        ...cpu,
        errors: loop.errors,
        n: loop.all.length,
        pollLate: corr.pollLate,
        create: latencies(corr.middlewareCreate),
        createRtt: latencies(loop.all.map((f) => f.createMs)),
        upstream: latencies(corr.upstreamCreate),
        qr: latencies(loop.all.map((f) => f.qrMs)),
        cbToTerminal: latencies(corr.callbackToTerminal),
        cbAck: latencies(corr.callbackAck),
      };
      rounds.push(x);
      progress.step(`PartPay flows c=${c} round ${r}/${s.rounds}: ${Math.round(x.perSec)} flows/s, CPU ms/flow daemon ${round(x.cpuPerFlow, 2)} sims ${round(x.simsCpuPerFlow, 2)} load ${round(x.loadCpuPerFlow, 2)}, create (middleware) p50 ${round(x.create.p50)} ms p99 ${round(x.create.p99)} ms, callback->terminal p99 ${round(x.cbToTerminal.p99)} ms${loop.errors ? `, ${loop.errors} errors: ${loop.firstError}` : ''}`);
    }
    rss[`partpay c=${c}`] = sampler.stop();
    // The group COMMITs of this level: each flushes the WAL once, however many changes it carries.
    const flushes = (await flushCount(http)) - flushesBefore;
    // What the RSS is made of once the level is done: V8 heap, external buffers, native.
    const memory = await sampleDaemon(http, stack.daemon.pid, stack.dbPath);
    byConcurrency[String(c)] = {
      memoryAfterMb: { rss: memory.rssMb, heapUsed: memory.heapUsedMb, heapTotal: memory.heapTotalMb, external: memory.externalMb, native: memory.nativeMb, openFds: memory.openFds },
      flowsPerSec: spread(rounds.map((x) => x.perSec)),
      ...cpuSummary(rounds),
      createMiddlewareMs: p50p99(rounds, (x) => x.create),
      createRoundTripMs: p50p99(rounds, (x) => x.createRtt),
      upstreamCreateMs: p50p99(rounds, (x) => x.upstream),
      qrFirstFetchMs: p50p99(rounds, (x) => x.qr),
      callbackToTerminalMs: { ...p50p99(rounds, (x) => x.cbToTerminal), samples: total(rounds, (x) => x.cbToTerminal.n), pollOpenedAfterCallback: total(rounds, (x) => x.pollLate) },
      callbackAckMs: p50p99(rounds, (x) => x.cbAck),
      flows: total(rounds, (x) => x.n),
      walFlushesPerFlow: flushes / Math.max(1, total(rounds, (x) => x.n)),
      errors: total(rounds, (x) => x.errors),
    };
  }
  // Durable: every flow a terminal saw approved is an approved row in the daemon's file.
  const db = new Database(stack.dbPath, { readonly: true });
  const approved = (db.prepare("SELECT count(*) AS n FROM payments WHERE provider = 'partpay' AND state = 'approved'").get() as { n: number }).n;
  const changes = (db.prepare("SELECT count(*) AS n FROM payment_events e JOIN payments p ON p.id = e.payment_id WHERE p.provider = 'partpay' AND e.kind = 'state_changed'").get() as { n: number }).n;
  db.close();
  return { decideMs: s.decideMs, byConcurrency, durable: { flowsSeenApproved: seen, approvedRows: approved, stateChangesPerFlow: changes / Math.max(1, approved) } };
}

interface ElectrumRound extends CpuShares {
  perSec: number;
  errors: number;
  n: number;
  retries: number;
  flow: LatencySummary;
  scanToPay: LatencySummary;
}

/** Electrum flows at each concurrency level (the partner simulator scans after `decideMs`). */
export async function electrumPhase(stack: Stack, http: HttpClient, partner: HttpClient, s: FlowSettings, progress: Progress, rss: Record<string, number>) {
  const flow = electrumFlow(http, partner, BENCH.pos, s.decideMs);
  const warm = await closedLoop(8, s.warmMs, flow);
  if (warm.errors > 0) throw new Error(`Electrum warm-up failed: ${warm.firstError}`);
  const byConcurrency: Record<string, unknown> = {};
  for (const c of s.concurrency) {
    const rounds: ElectrumRound[] = [];
    const sampler = sampleRss(stack.daemon.pid);
    for (let r = 1; r <= s.rounds; r++) {
      const meter = cpuMeter(stack);
      const loop = await closedLoop<ElectrumFlow>(c, s.flowSeconds * 1000, flow);
      const x: ElectrumRound = {
        perSec: (loop.results.length * 1000) / loop.windowMs,
        ...meter(loop.all.length),
        errors: loop.errors,
        n: loop.all.length,
        retries: total(loop.all, (f) => f.scanRetries),
        flow: latencies(loop.all.map((f) => f.flowMs)),
        scanToPay: latencies(loop.all.map((f) => f.scanToPayMs)),
      };
      rounds.push(x);
      progress.step(`Electrum flows c=${c} round ${r}/${s.rounds}: ${Math.round(x.perSec)} flows/s, CPU ms/flow daemon ${round(x.cpuPerFlow, 2)} sims ${round(x.simsCpuPerFlow, 2)} load ${round(x.loadCpuPerFlow, 2)}${loop.errors ? `, ${loop.errors} errors: ${loop.firstError}` : ''}`);
    }
    rss[`electrum c=${c}`] = sampler.stop();
    byConcurrency[String(c)] = {
      flowsPerSec: spread(rounds.map((x) => x.perSec)),
      ...cpuSummary(rounds),
      flowMs: p50p99(rounds, (x) => x.flow),
      scanToPayMs: p50p99(rounds, (x) => x.scanToPay),
      scanRetries: total(rounds, (x) => x.retries),
      flows: total(rounds, (x) => x.n),
      errors: total(rounds, (x) => x.errors),
    };
  }
  return { scanDelayMs: s.decideMs, byConcurrency };
}
