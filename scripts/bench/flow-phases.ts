import Database from 'better-sqlite3';
import { electrumFlow, type ElectrumFlow } from './electrum-flow.js';
import type { HttpClient } from './http-client.js';
import { closedLoop, sleep } from './loop.js';
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

interface PartPayRound {
  perSec: number;
  cpuPerFlow: number;
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
    for (let r = 1; r <= s.rounds; r++) {
      const cpu0 = procStats(stack.daemon.pid).cpuMs;
      const loop = await closedLoop<PartPayFlow>(c, s.flowSeconds * 1000, flow);
      const cpuMs = procStats(stack.daemon.pid).cpuMs - cpu0;
      await sleep(150); // let the last callbacks' timings land
      const corr = correlate(loop.all, await stack.sims.drain());
      seen += loop.all.length;
      const x: PartPayRound = {
        perSec: (loop.results.length * 1000) / loop.windowMs,
        cpuPerFlow: cpuMs / Math.max(1, loop.all.length),
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
      progress.step(`PartPay flows c=${c} round ${r}/${s.rounds}: ${Math.round(x.perSec)} flows/s, ${round(x.cpuPerFlow, 2)} daemon CPU ms/flow, create (middleware) p50 ${round(x.create.p50)} ms p99 ${round(x.create.p99)} ms, callback->terminal p99 ${round(x.cbToTerminal.p99)} ms${loop.errors ? `, ${loop.errors} errors: ${loop.firstError}` : ''}`);
    }
    rss[`partpay c=${c}`] = sampler.stop();
    byConcurrency[String(c)] = {
      flowsPerSec: spread(rounds.map((x) => x.perSec)),
      daemonCpuMsPerFlow: spread(rounds.map((x) => x.cpuPerFlow)),
      createMiddlewareMs: p50p99(rounds, (x) => x.create),
      createRoundTripMs: p50p99(rounds, (x) => x.createRtt),
      upstreamCreateMs: p50p99(rounds, (x) => x.upstream),
      qrFirstFetchMs: p50p99(rounds, (x) => x.qr),
      callbackToTerminalMs: { ...p50p99(rounds, (x) => x.cbToTerminal), samples: total(rounds, (x) => x.cbToTerminal.n), pollOpenedAfterCallback: total(rounds, (x) => x.pollLate) },
      callbackAckMs: p50p99(rounds, (x) => x.cbAck),
      flows: total(rounds, (x) => x.n),
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

interface ElectrumRound {
  perSec: number;
  cpuPerFlow: number;
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
      const cpu0 = procStats(stack.daemon.pid).cpuMs;
      const loop = await closedLoop<ElectrumFlow>(c, s.flowSeconds * 1000, flow);
      const cpuMs = procStats(stack.daemon.pid).cpuMs - cpu0;
      const x: ElectrumRound = {
        perSec: (loop.results.length * 1000) / loop.windowMs,
        cpuPerFlow: cpuMs / Math.max(1, loop.all.length),
        errors: loop.errors,
        n: loop.all.length,
        retries: total(loop.all, (f) => f.scanRetries),
        flow: latencies(loop.all.map((f) => f.flowMs)),
        scanToPay: latencies(loop.all.map((f) => f.scanToPayMs)),
      };
      rounds.push(x);
      progress.step(`Electrum flows c=${c} round ${r}/${s.rounds}: ${Math.round(x.perSec)} flows/s, ${round(x.cpuPerFlow, 2)} daemon CPU ms/flow${loop.errors ? `, ${loop.errors} errors: ${loop.firstError}` : ''}`);
    }
    rss[`electrum c=${c}`] = sampler.stop();
    byConcurrency[String(c)] = {
      flowsPerSec: spread(rounds.map((x) => x.perSec)),
      daemonCpuMsPerFlow: spread(rounds.map((x) => x.cpuPerFlow)),
      flowMs: p50p99(rounds, (x) => x.flow),
      scanToPayMs: p50p99(rounds, (x) => x.scanToPay),
      scanRetries: total(rounds, (x) => x.retries),
      flows: total(rounds, (x) => x.n),
      errors: total(rounds, (x) => x.errors),
    };
  }
  return { scanDelayMs: s.decideMs, byConcurrency };
}
