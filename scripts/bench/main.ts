/**
 * `npm run bench`: tenderbridge against the limits of the machine it runs on, in one run.
 * Baseline A (bare node:http), baseline B (raw durable SQLite commits), then the built
 * daemon as a process with the PartPay and Electrum partner simulators in another, at
 * 1, 16, 64 and 256 terminals. Prints one table; writes the same figures to bench/results.json.
 *
 *   npm run bench                    # full run (about 3-4 minutes on 2 cores)
 *   npm run bench -- --quick         # smoke run, a few seconds
 *   npm run bench -- --cpu-prof      # also writes the daemon's V8 CPU profile to bench/profiles/
 *   npm run bench -- --compare=HEAD~3  # A/B: this build against another revision, alternating rounds
 *   npm run bench -- --only=partpay  # phases: sqlite,qr,startup,http,partpay,openloop,electrum,refetch,postgres
 *                                    # (openloop runs the partpay phase too: it offers fractions of that capacity)
 *   npm run bench -- --soak=30m      # the PartPay phase for capacity, then 30 minutes at 50 % of it (growth, WAL, fds)
 *   npm run bench -- --only=openloop --capacity=250  # the open loop at fractions of 250 flows/s, without measuring capacity first
 *   npm run bench -- --db-size=1m,10m  # a year of payments generated per size: API vs empty, job batches, bytes/payment, purge
 *   npm run bench -- --only=partpay --node-args="--max-semi-space-size=2"  # the daemon under other V8 flags
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cannon, type CannonRun } from './cannon.js';
import { compareBuilds } from './compare.js';
import { electrumPhase, partpayPhase } from './flow-phases.js';
import { createHttpClient } from './http-client.js';
import { machineFacts } from './machine.js';
import { openLoopPhase } from './open-loop.js';
import { partpayFlow } from './partpay-flow.js';
import { postgresPhase } from './postgres-phase.js';
import { DAEMON_ROOT, procStats, ROOT, sampleRss, startBaselineHttp, startDaemon } from './procs.js';
import { createProgress } from './progress.js';
import { MAIN_THREAD_CLOCK, qrMicro } from './qr-micro.js';
import { at, printCompare, printTable, targets } from './report.js';
import { prepareRevision } from './revision.js';
import { BENCH, startStack, startupConfig } from './setup.js';
import { dbSizePhase, parsePayments, purgeLongRun } from './db-size.js';
import { parseDuration, soakPhase } from './soak.js';
import { sqliteBaseline } from './sqlite-baseline.js';
import { latencies, monoMs, round, spread } from './stats.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    out: { type: 'string', default: 'bench/results.json' },
    'cpu-prof': { type: 'boolean', default: false },
    only: { type: 'string' },
    compare: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    soak: { type: 'string' },
    'db-size': { type: 'string' },
    'node-args': { type: 'string' },
    concurrency: { type: 'string' },
    capacity: { type: 'string' },
  },
  strict: true,
});
const quick = flags.quick ?? false;
const settings = {
  quick,
  rounds: Number(flags.rounds ?? (quick ? 1 : 3)),
  concurrency: flags.concurrency ? flags.concurrency.split(',').map(Number) : quick ? [1, 4] : [1, 16, 64, 256],
  flowSeconds: quick ? 0.6 : 3,
  cannonSeconds: quick ? 0.5 : 2,
  sqliteSeconds: quick ? 0.3 : 1,
  startupRuns: quick ? 1 : 3,
  qrSamples: quick ? 4 : 30,
  /** Open loop: offered load as fractions of the measured PartPay capacity, and seconds per level. */
  openLoopFractions: [0.25, 0.5, 0.8],
  openLoopSeconds: quick ? 1 : 10,
  /** PartPay simulator's decision delay and the Electrum customer's scan delay. */
  decideMs: 50,
  qrDelivery: 'url' as const,
};
/** V8 flags for the daemon under test (start-up and flow phases). */
const daemonFlags = flags['node-args']?.split(/\s+/).filter(Boolean) ?? [];
const soakMs = flags.soak === undefined ? null : parseDuration(flags.soak);
const dbSizes = flags['db-size'] === undefined ? null : flags['db-size'].split(',').map(parsePayments);
// A soak measures capacity with the PartPay phase, then runs; --db-size runs alone; other phases only when asked for.
const only = flags.only ? new Set(flags.only.split(',')) : soakMs !== null ? new Set(['partpay']) : dbSizes !== null ? new Set<string>() : null;
/** `--compare=<ref>` runs the A/B rounds instead of the phases. */
const comparing = flags.compare !== undefined;
const run = (phase: string) => !comparing && (only === null || only.has(phase));
const progress = createProgress({ quiet: flags.quiet ?? false });
const results: Record<string, unknown> = { machine: machineFacts(), commit: gitHead(ROOT), settings, daemonNodeArgs: daemonFlags };
const perC = <T>(fn: (c: number) => T): Record<string, T> => Object.fromEntries(settings.concurrency.map((c) => [String(c), fn(c)]));
const summarizeCannon = (runs: CannonRun[]) => ({ rps: spread(runs.map((r) => r.rps)), serverCpuUsPerRequest: spread(runs.map((r) => r.serverCpuUsPerRequest)), p50Ms: spread(runs.map((r) => r.p50Ms)), p99Ms: spread(runs.map((r) => r.p99Ms)), errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0) });

async function cannonSeries(label: string, url: string, serverPid: number, headers: Record<string, string> = {}) {
  const out: Record<string, ReturnType<typeof summarizeCannon>> = {};
  for (const c of settings.concurrency) {
    const runs: CannonRun[] = [];
    for (let r = 1; r <= settings.rounds; r++) {
      runs.push(await cannon(url, c, settings.cannonSeconds, headers, serverPid));
      progress.step(`${label} c=${c} round ${r}/${settings.rounds}: ${Math.round(runs[runs.length - 1]?.rps ?? 0)} req/s`);
    }
    out[String(c)] = summarizeCannon(runs);
  }
  return out;
}

/** A/B rounds of `--compare` (each runs both builds once). */
const compareRounds = Number(flags.rounds ?? (quick ? 2 : 3));
progress.step(`tenderbridge bench (${quick ? 'quick' : 'full'}): ${comparing ? `--compare=${flags.compare}, ${compareRounds} A/B round(s)` : `${settings.rounds} round(s)`}, concurrency ${settings.concurrency.join('/')}`);

if (run('sqlite')) {
  const rounds = Array.from({ length: settings.rounds }, (_, r) => {
    const b = sqliteBaseline(settings.sqliteSeconds * 1000);
    progress.step(`baseline B (SQLite, WAL + synchronous=FULL) round ${r + 1}/${settings.rounds}: ${Math.round(b.commitsPerSec)} commits/s, ${Math.round(b.groupedChangesPerSec)} changes/s grouped by 32`);
    return b;
  });
  results['baselineSqlite'] = { commitsPerSec: spread(rounds.map((b) => b.commitsPerSec)), groupedChangesPerSec: spread(rounds.map((b) => b.groupedChangesPerSec)), batch: 32 };
}

if (run('qr')) {
  progress.step(`QR rendering in-process, ${settings.qrSamples} payments per variant and profile`);
  results['qr'] = { mainThreadClock: MAIN_THREAD_CLOCK, perProfile: await qrMicro(settings.qrSamples) };
}

if (run('startup')) {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-bench-startup-'));
  const runs: Array<{ readyLogMs: number; healthzMs: number; rssMb: number }> = [];
  for (let i = 0; i < settings.startupRuns; i++) {
    const d = await startDaemon(startupConfig(dir, i), { nodeArgs: daemonFlags });
    runs.push({ readyLogMs: d.readyLogMs, healthzMs: d.healthzMs, rssMb: procStats(d.pid).rssMb });
    await d.stop();
    progress.step(`start-up ${i + 1}/${settings.startupRuns}: ready line after ${round(d.readyLogMs, 0)} ms, /healthz after ${round(d.healthzMs, 0)} ms`);
  }
  rmSync(dir, { recursive: true, force: true });
  results['startup'] = { readyLogMs: spread(runs.map((r) => r.readyLogMs)), healthzMs: spread(runs.map((r) => r.healthzMs)), rssAtReadyMb: spread(runs.map((r) => r.rssMb)) };
}

if (run('http')) {
  const bare = await startBaselineHttp();
  // The floor under the daemon's start-up and memory: node itself, with nothing but node:http loaded.
  const rssAtListenMb = procStats(bare.child.pid as number).rssMb;
  results['baselineHttp'] = await cannonSeries('baseline A (bare node:http)', `${bare.url}/`, bare.child.pid as number);
  results['baselineHttpProcess'] = { startToListenMs: bare.startToListenMs, rssAtListenMb, peakRssMb: procStats(bare.child.pid as number).peakRssMb };
  await bare.stop();
  const plainExpress = await startBaselineHttp('express-http.mjs');
  results['baselineExpress'] = await cannonSeries("baseline A' (express 5, one route)", `${plainExpress.url}/`, plainExpress.child.pid as number);
  await plainExpress.stop();
}

if (run('http') || run('partpay') || run('openloop') || run('electrum') || run('refetch') || soakMs !== null) {
  const profileDir = resolve(ROOT, 'bench/profiles');
  if (flags['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  const nodeArgs = [...daemonFlags, ...(flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const stack = await startStack({ decideMs: settings.decideMs, qrDelivery: settings.qrDelivery, nodeArgs });
  progress.step(`daemon pid ${stack.daemon.pid} on ${stack.daemon.url}, simulators pid ${stack.sims.child.pid}`);
  const http = createHttpClient(stack.daemon.url);
  const partner = createHttpClient(stack.sims.partnerUrl);
  const terminal = BENCH.terminals[0];
  const rss: Record<string, number> = {};
  try {
    if (run('http')) {
      const sampler = sampleRss(stack.daemon.pid);
      results['trivialRoute'] = { route: 'GET /healthz', byConcurrency: await cannonSeries('daemon GET /healthz', `${stack.daemon.url}/healthz`, stack.daemon.pid) };
      rss['trivialRoute'] = sampler.stop();
    }
    const flowSettings = { concurrency: settings.concurrency, rounds: settings.rounds, flowSeconds: settings.flowSeconds, warmMs: quick ? 300 : 1500, decideMs: settings.decideMs };
    // --capacity=N: the open loop and the soak offer fractions of N flows/s instead of the capacity measured here (two builds, one offered load).
    const givenCapacity = flags.capacity === undefined ? null : Number(flags.capacity);
    if (givenCapacity !== null && !(givenCapacity > 0)) throw new Error(`--capacity must be flows per second, not "${flags.capacity}"`);
    const capacityOf = (): number => givenCapacity ?? Math.max(...settings.concurrency.map((c) => at(results, `partpayFlows.byConcurrency.${c}.flowsPerSec`)));
    if (run('partpay') || ((run('openloop') || soakMs !== null) && givenCapacity === null)) results['partpayFlows'] = { qrDelivery: settings.qrDelivery, ...(await partpayPhase(stack, http, flowSettings, progress, rss)) };
    if (run('openloop')) {
      const capacity = capacityOf();
      const sampler = sampleRss(stack.daemon.pid);
      results['openLoop'] = await openLoopPhase(stack, http, capacity, { fractions: settings.openLoopFractions, seconds: settings.openLoopSeconds }, progress);
      rss['open loop'] = sampler.stop();
    }
    if (soakMs !== null) {
      const capacity = capacityOf();
      const sampler = sampleRss(stack.daemon.pid, 1000);
      results['soak'] = await soakPhase(stack, http, capacity, { durationMs: soakMs, fraction: 0.5, windowMs: quick ? 2000 : 30_000 }, progress);
      rss['soak'] = sampler.stop();
    }
    if (run('electrum')) results['electrumFlows'] = await electrumPhase(stack, http, partner, flowSettings, progress, rss);
    if (run('refetch')) {
      // A cached re-fetch of a payment's QR over HTTP, as a terminal repainting its screen:
      // latency one request at a time (autocannon's histogram has 1 ms steps), rate with autocannon.
      const one = await partpayFlow(http, terminal.key)(0);
      const headers = { authorization: `Bearer ${terminal.key}` };
      const path = `/v1/payments/${one.paymentId}/qr`;
      const etag = String((await http.send('GET', path, headers)).headers['etag']);
      const timed = async (extra: Record<string, string>, expect: number) => {
        const samples: number[] = [];
        for (let i = 0; i < (quick ? 100 : 1000); i++) {
          const t = monoMs();
          const res = await http.send('GET', path, { ...headers, ...extra });
          samples.push(monoMs() - t);
          if (res.status !== expect) throw new Error(`QR re-fetch answered ${res.status}, expected ${expect}`);
        }
        return latencies(samples);
      };
      const image200 = [];
      const notModified304 = [];
      const rates: CannonRun[] = [];
      for (let r = 1; r <= settings.rounds; r++) {
        image200.push(await timed({}, 200));
        notModified304.push(await timed({ 'if-none-match': etag }, 304));
        rates.push(await cannon(`${stack.daemon.url}${path}`, 16, settings.cannonSeconds, headers));
        progress.step(`QR re-fetch round ${r}/${settings.rounds}: 200 p50 ${round(image200[r - 1]?.p50 ?? 0, 2)} ms, 304 p50 ${round(notModified304[r - 1]?.p50 ?? 0, 2)} ms, ${Math.round(rates[r - 1]?.rps ?? 0)} req/s at c=16`);
      }
      const both = (xs: ReturnType<typeof latencies>[]) => ({ p50: spread(xs.map((x) => x.p50)), p99: spread(xs.map((x) => x.p99)) });
      results['qr'] ??= {};
      Object.assign(results['qr'] as object, { httpRefetch: { image200: both(image200), notModified304: both(notModified304), image200AtC16: summarizeCannon(rates) } });
    }
    const final = procStats(stack.daemon.pid);
    const heaviest = Object.entries(rss).sort((a, b) => b[1] - a[1])[0];
    results['memory'] = { peakRssMb: round(final.peakRssMb, 1), heaviestPhase: heaviest?.[0] ?? null, maxSampledRssMbByPhase: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, round(v, 1)])) };
  } finally {
    http.close();
    partner.close();
    await stack.stop();
  }
  if (flags['cpu-prof']) progress.step(`daemon CPU profile written to ${profileDir}`);
}

if (run('postgres')) {
  // PartPay flows with 1, 2 and 3 daemons sharing one PostgreSQL database, on this same box.
  results['postgres'] = await postgresPhase({ daemons: [1, 2, 3], concurrency: quick ? 6 : 48, rounds: settings.rounds, flowSeconds: settings.flowSeconds, warmMs: quick ? 300 : 1500, decideMs: settings.decideMs, qrDelivery: settings.qrDelivery, nodeArgs: daemonFlags }, progress);
}

if (dbSizes !== null) {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-bench-dbsize-'));
  try {
    results['dbSize'] = await dbSizePhase(dir, dbSizes, { samples: quick ? 10 : 100 }, progress);
    results['purgeLongRun'] = await purgeLongRun(dir, quick ? { perDay: 200, retentionDays: 3, periods: 3 } : { perDay: 2000, retentionDays: 20, periods: 3 }, progress);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (comparing) {
  const ref = flags.compare as string;
  const other = await prepareRevision(ROOT, ref, progress);
  try {
    const flowSettings = { concurrency: settings.concurrency, rounds: 1, flowSeconds: settings.flowSeconds, warmMs: quick ? 300 : 1500, decideMs: settings.decideMs, cannonSeconds: settings.cannonSeconds, qrDelivery: settings.qrDelivery };
    const a = { label: DAEMON_ROOT === ROOT ? `this checkout (${gitHead(ROOT)})` : DAEMON_ROOT, root: DAEMON_ROOT };
    const b = { label: `${ref} (${other.commit.slice(0, 12)})`, root: other.root };
    results['compare'] = { ...(await compareBuilds(a, b, compareRounds, flowSettings, progress)), ref, commit: other.commit, nodeModules: other.modules };
  } finally {
    other.remove();
    progress.step(`compare: removed the worktree of ${ref}`);
  }
}

(results['machine'] as Record<string, unknown>)['loadAverageAtEnd'] = Math.round((loadavg()[0] ?? 0) * 100) / 100;
if (!comparing) {
  results['ratios'] = ratios(results);
  results['targets'] = targets(results);
}
const out = resolve(ROOT, flags.out ?? 'bench/results.json');
mkdirSync(resolve(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, (_k, v: unknown) => (typeof v === 'number' ? round(v, 3) : v), 2)}\n`);
if (comparing) printCompare(results);
else printTable(results);
progress.step(`done in ${round(progress.elapsedMs() / 1000, 1)} s; figures in ${out}`);

/** Ratios to the baselines: the daemon's trivial route vs bare node:http, and durable state changes vs raw commits. */
function ratios(r: Record<string, unknown>) {
  const get = (path: string): number => {
    let v: unknown = r;
    for (const k of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
    return typeof v === 'number' ? v : Number.NaN;
  };
  const top = String(settings.concurrency[settings.concurrency.length - 1]);
  const routeVsA = perC((c) => get(`trivialRoute.byConcurrency.${c}.rps.median`) / get(`baselineHttp.${c}.rps.median`));
  const expressVsA = perC((c) => get(`baselineExpress.${c}.rps.median`) / get(`baselineHttp.${c}.rps.median`));
  const bestFlows = Math.max(...settings.concurrency.map((c) => get(`partpayFlows.byConcurrency.${c}.flowsPerSec.median`)));
  const changesPerFlow = get('partpayFlows.durable.stateChangesPerFlow');
  const stateChangesPerSec = bestFlows * changesPerFlow;
  return {
    trivialRouteVsBareHttp: routeVsA,
    expressVsBareHttp: expressVsA,
    durableStateChangesPerSec: stateChangesPerSec,
    durableStateChangesVsRawCommits: stateChangesPerSec / get('baselineSqlite.commitsPerSec.median'),
    electrumVsPartPayCpuPerFlow: get(`electrumFlows.byConcurrency.${top}.daemonCpuMsPerFlow.median`) / get(`partpayFlows.byConcurrency.${top}.daemonCpuMsPerFlow.median`),
    electrumVsPartPayFlowsPerSec: get(`electrumFlows.byConcurrency.${top}.flowsPerSec.median`) / get(`partpayFlows.byConcurrency.${top}.flowsPerSec.median`),
  };
}

/** The short commit of a checkout, with `+changes` when its tree differs from it. */
function gitHead(dir: string): string {
  const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, encoding: 'utf8' }).trim() !== '';
  return dirty ? `${head}+changes` : head;
}
