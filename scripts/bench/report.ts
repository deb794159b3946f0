import Table from 'cli-table3';
import { round, type Spread } from './stats.js';

type Results = Record<string, unknown>;

/** Reads a dotted path (the median of a per-round figure); NaN when absent. */
export function at(r: Results, path: string): number {
  let v: unknown = r;
  for (const k of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'median' in v) return (v as Spread).median;
  return Number.NaN;
}

function levels(r: Results): string[] {
  return ((r['settings'] as { concurrency: number[] }).concurrency ?? []).map(String);
}

/** The reference load for latency targets: 64 terminals, or the highest level run. */
function refLevel(r: Results): string {
  const ls = levels(r);
  return ls.includes('64') ? '64' : (ls[ls.length - 1] ?? '1');
}

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? String(round(v, digits)) : '-');

const PROFILE = "the daemon's CPU profile (`npm run bench -- --cpu-prof`, summarised by scripts/bench/profile-summary.ts)";

/**
 * What bounds a target the run missed, with the figure of the same run that shows it where the
 * run measures one (README, "What bounds each target", has the profiles behind each).
 */
export function boundOf(id: string, r: Results): string {
  const ref = refLevel(r);
  const bareUs = at(r, `baselineHttp.${ref}.serverCpuUsPerRequest`);
  const expressUs = at(r, `baselineExpress.${ref}.serverCpuUsPerRequest`);
  const perExchange = Number.isFinite(expressUs / bareUs) ? `an express 5 app with one route costs ${fmt(expressUs / bareUs, 1)} bare requests per request in this run` : 'express per request';
  const openAt = (k: string) => at(r, `openLoop.byPercentOfCapacity.50.${k}`);
  const bare = r['baselineHttpProcess'] as { startToListenMs: number; rssAtListenMb: number; peakRssMb: number } | undefined;
  if (id === 'cpu-partpay') return `the flow's own work in ${PROFILE}: the payments statements and the journal, socket writes, the group COMMIT, routing and validation (${perExchange}; five exchanges a flow), undici's calls to PartPay`;
  if (id === 'cpu-partpay-c1') return "nothing is shared at one terminal: each flow pays its own group COMMITs and WAL flushes, timers, keep-alive sockets and hand-over to the QR worker, and the daemon's idle work (timers, metrics) falls on fewer flows";
  if (id === 'cpu-electrum') return `about seven HTTP exchanges per flow (the POS's and the partner's), each through express, validation, SQLite and the journal (${perExchange}); ${PROFILE}`;
  if (id === 'flows') return `CPU: the daemon, the simulators and the load generator share the cores, and their CPU per flow allows ${fmt(at(r, `partpayFlows.byConcurrency.${ref}.cpuBoundFlowsPerSec`), 0)} flows/s at c=${ref} in this run (cpuBoundFlowsPerSec); the daemon's share as in cpu-partpay`;
  if (id === 'qr-pipeline') {
    const per = ((r['qr'] as { perProfile?: Record<string, { format?: string }> } | undefined)?.perProfile ?? {}) as Record<string, { format?: string }>;
    const worst = Object.keys(per)
      .filter((p) => p !== 'webp' && per[p]?.format !== 'webp')
      .sort((a, b) => Math.max(at(r, `qr.perProfile.${b}.base64.p50`), at(r, `qr.perProfile.${b}.url.p50`)) - Math.max(at(r, `qr.perProfile.${a}.base64.p50`), at(r, `qr.perProfile.${a}.url.p50`)))[0];
    const format = per[worst ?? '']?.format ?? worst ?? '?';
    return `the render: the ${worst ?? '?'} profile's layout and ${format} encode alone, with no image to decode, take ${fmt(at(r, `qr.perProfile.${worst ?? ''}.renderOnly.p50`), 2)} ms p50 in this run, the hand-over to the QR worker and back included (PNG deflated by zlib, JPEG encoded by sharp); an image URL's pipeline adds the HTTP round trip to the image's server`;
  }
  if (id === 'healthz') return `express itself: an express 5 app with one route and no middleware (baseline A') answers at ${fmt(at(r, `ratios.expressVsBareHttp.${ref}`), 2)} of bare node:http at c=${ref} in this run; the daemon's middleware (request id, security headers, metrics timer, host check) takes the rest`;
  if (id === 'durable') {
    const changes = at(r, 'partpayFlows.durable.stateChangesPerFlow');
    const flushes = at(r, `partpayFlows.byConcurrency.${ref}.walFlushesPerFlow`);
    return `the CPU per flow, not the commit path: a PartPay flow brings ${fmt(changes, 1)} durable state changes, and at c=${ref} the daemon flushed the WAL ${fmt(flushes, 2)} times per flow in this run (one flush per group COMMIT), so each flush carried about ${fmt(changes / flushes, 1)} of them`;
  }
  if (id === 'rss') return `no leak (the soak finds no growth): the node binary's pages, V8's heap with its young generation under load, the C allocator's heap with libvips' buffers, and the QR worker's isolate (README "Memory", from /proc/<pid>/smaps); a bare node:http process peaked at ${fmt(bare?.peakRssMb ?? Number.NaN, 1)} MB under the same load in this run`;
  if (id === 'rss-ready') return `a bare node:http process holds ${fmt(bare?.rssAtListenMb ?? Number.NaN, 1)} MB once listening in this run; the rest is the daemon's modules and schemas in V8's heap, SQLite, libvips and the QR worker's isolate`;
  if (id === 'startup') return `a bare node:http process listens ${fmt(bare?.startToListenMs ?? Number.NaN, 0)} ms after its spawn in this run; the rest is loading the daemon's modules (about 960 files: module compilation and file reads lead a CPU profile of the start)`;
  if (id === 'open-create-p99') return `the disk: a create's answer waits for up to two WAL flushes, p99 <= ${fmt(openAt('diskFlushMs.p99AtMostMs'), 0)} ms at this level in this run, behind the event loop's p99 (${fmt(openAt('eventLoopDelayMs.p99'), 1)} ms) and the load generator's own lateness (p99 ${fmt(openAt('generatorStartLateMs.p99'), 1)} ms) on the same cores`;
  if (id === 'open-callback-p99') return `the disk: the callback's state change is flushed (WAL flush p99 <= ${fmt(openAt('diskFlushMs.p99AtMostMs'), 0)} ms at this level in this run) before the terminal is told, behind the event loop's p99 (${fmt(openAt('eventLoopDelayMs.p99'), 1)} ms)`;
  if (id === 'open-loop-delay-p99') return `synchronous stretches: the statements, JSON and HTTP work for a burst of arrivals, and the group COMMIT's WAL writes, as ${PROFILE} shows`;
  if (id === 'qr-main-thread') return "the image's hand-over to the QR worker and back, and for an image URL the fetch's bookkeeping";
  if (id === 'qr-cached') return "one request's routing and the terminal's authentication; the image itself comes from the cache";
  if (/^db-.*-api$/.test(id)) return 'the run-to-run spread: at these sizes a p50 of 100 requests moves about 15 % between runs, and the worst call differs from run to run (README, "A big database")';
  if (/^db-.*-(jobs|purge)$/.test(id)) return 'the batch\'s statements reading pages that are not in the page cache (README, "A big database")';
  if (/^db-.*-backup$/.test(id)) {
    const n = id.slice(3, -7);
    const b = (r['dbSize'] as Record<string, { backup?: { wallMs: number; longestWaitMs: number } }> | undefined)?.[n]?.backup;
    return `counted as one batch: the event-loop time of the whole job, spread over its ${fmt((b?.wallMs ?? Number.NaN) / 1000, 1)} s (the longest wait ${fmt(b?.longestWaitMs ?? Number.NaN, 1)} ms), most of it the delay monitor's own timer; the copy and its check run on a thread`;
  }
  if (id === 'purge-bounded') return 'the retention: the file holds one retention period of payments, and grows only while that period fills';
  return "the soak's table: RSS by part, WAL, open files and the failed flows by kind";
}

/**
 * Each target of the performance issue (round two) with the measured value and whether it is
 * met. CPU targets are in "bare requests": the CPU one request costs the bare node:http
 * baseline of the same run at the same concurrency, so a faster or slower hour of this VM
 * moves both sides alike.
 */
export function targets(r: Results) {
  const ls = levels(r);
  const ref = refLevel(r);
  const profiles = Object.keys((r['qr'] as { perProfile?: object } | undefined)?.perProfile ?? {});
  // PNG and JPEG profiles: WebP's encoder is slow by nature and has no target of its own.
  const pngJpeg = profiles.filter((p) => ((r['qr'] as { perProfile: Record<string, { format?: string }> }).perProfile[p]?.format ?? p) !== 'webp' && p !== 'webp');
  const worstPipeline = pngJpeg.length === 0 ? Number.NaN : Math.max(...pngJpeg.flatMap((p) => [at(r, `qr.perProfile.${p}.base64.p50`), at(r, `qr.perProfile.${p}.url.p50`)]));
  const bareUs = (c: string) => at(r, `baselineHttp.${c}.serverCpuUsPerRequest`);
  const inBare = (flowPath: string, c: string) => (at(r, flowPath) * 1000) / bareUs(c);
  const bestFlows = Math.max(...ls.map((c) => at(r, `partpayFlows.byConcurrency.${c}.flowsPerSec`)));
  // The event loop's share of the pipeline, in every profile (the rest runs on the QR worker).
  const worstMain = profiles.length === 0 ? Number.NaN : Math.max(...profiles.flatMap((p) => ['base64', 'url', 'renderOnly'].map((v) => at(r, `qr.perProfile.${p}.mainThreadMs.${v}`))));
  const rows: Array<{ id: string; what: string; target: string; value: number; unit: string; met: boolean; bound: string | null }> = [];
  const add = (id: string, what: string, value: number, unit: string, limit: number, atMost: boolean) => {
    if (Number.isNaN(value)) return; // the phase did not run
    const met = Number.isFinite(value) && (atMost ? value <= limit : value >= limit);
    rows.push({ id, what, target: `${atMost ? '<=' : '>='} ${limit} ${unit}`, value: round(value, 2), unit, met, bound: met ? null : boundOf(id, r) });
  };
  add('cpu-partpay', `daemon CPU per PartPay flow at c=${ref}`, inBare(`partpayFlows.byConcurrency.${ref}.daemonCpuMsPerFlow`, ref), 'bare requests', 136, true);
  add('cpu-partpay-c1', 'daemon CPU per PartPay flow at c=1', inBare('partpayFlows.byConcurrency.1.daemonCpuMsPerFlow', ref), 'bare requests', 272, true);
  add('cpu-electrum', `daemon CPU per Electrum flow at c=${ref}`, inBare(`electrumFlows.byConcurrency.${ref}.daemonCpuMsPerFlow`, ref), 'bare requests', 82, true);
  add('flows', 'PartPay flows/s (best level) per 1,000 bare req/s', bestFlows / (at(r, `baselineHttp.${ref}.rps`) / 1000), 'flows/s', 7.8, false);
  add('qr-pipeline', 'QR pipeline p50, worst PNG/JPEG profile (decode + render)', worstPipeline, 'ms', 1.5, true);
  add('healthz', `/healthz req/s vs bare node:http at c=${ref}`, at(r, `ratios.trivialRouteVsBareHttp.${ref}`), 'x', 0.6, false);
  add('durable', 'durable state changes/s vs raw SQLite FULL commits/s', at(r, 'ratios.durableStateChangesVsRawCommits'), 'x', 0.3, false);
  add('rss', `peak RSS of the daemon (up to ${ls[ls.length - 1] ?? '?'} terminals)`, at(r, 'memory.peakRssMb'), 'MB', 150, true);
  add('rss-ready', 'RSS at ready', at(r, 'startup.rssAtReadyMb'), 'MB', 80, true);
  add('startup', 'start to ready (log line)', at(r, 'startup.readyLogMs'), 'ms', 300, true);
  // Open loop: the latency targets at half the measured capacity, counted from each flow's scheduled start.
  add('open-create-p99', 'open loop at 50% of capacity: create overhead p99', at(r, 'openLoop.byPercentOfCapacity.50.createOverheadMs.p99'), 'ms', 10, true);
  add('open-callback-p99', 'open loop at 50%: callback->terminal p99', at(r, 'openLoop.byPercentOfCapacity.50.callbackToTerminalMs.p99'), 'ms', 5, true);
  add('open-loop-delay-p99', "open loop at 50%: daemon's event-loop delay p99", at(r, 'openLoop.byPercentOfCapacity.50.eventLoopDelayMs.p99'), 'ms', 10, true);
  add('qr-main-thread', 'QR per payment on the event loop (mean CPU), worst profile/variant', worstMain, 'ms', 1, true);
  add('qr-cached', 'QR cached re-fetch over HTTP p50', at(r, 'qr.httpRefetch.image200.p50'), 'ms', 0.5, true);
  const sizes = (r['dbSize'] ?? {}) as Record<string, { api: Record<string, { ratioP50: number }>; jobs: Record<string, { cpuMsMax: number }>; backup?: { eventLoopMs: number }; purge: { oldestWeek: { batchLoopMs: { p99: number } } } }>;
  for (const [n, x] of Object.entries(sizes)) {
    const terminalApi = Object.entries(x.api).filter(([k]) => k.includes('/v1/'));
    add(`db-${n}-api`, `terminal API p50 on ${n} payments vs a fresh file, worst call`, Math.max(...terminalApi.map(([, v]) => v.ratioP50)), 'x', 1.1, true);
    add(`db-${n}-jobs`, `job batch on ${n} payments, worst (CPU = event-loop time)`, Math.max(...Object.values(x.jobs).map((j) => j.cpuMsMax)), 'ms', 10, true);
    add(`db-${n}-purge`, `purge batch on ${n} payments, p99 (event-loop ms)`, x.purge.oldestWeek.batchLoopMs.p99, 'ms', 10, true);
    if (x.backup) add(`db-${n}-backup`, `nightly backup of ${n} payments: event-loop ms, the whole job`, x.backup.eventLoopMs, 'ms', 10, true);
  }
  const longRun = r['purgeLongRun'] as { growthLastPeriod: number } | undefined;
  if (longRun) add('purge-bounded', 'file growth over the last retention period of a long run with the purge', longRun.growthLastPeriod * 100, '%', 5, true);
  const soak = r['soak'] as { rss: { mbPerHour: number; grows: boolean }; errors: number } | undefined;
  if (soak) {
    add('soak-rss', 'soak: RSS slope after warm-up', soak.rss.mbPerHour, 'MB/h', 5, true);
    add('soak-errors', 'soak: failed flows', soak.errors, 'flows', 0, true);
  }
  return rows;
}

/** `median (min-max)` of a figure over rounds. */
function cell(r: Results, path: string, digits = 1): string {
  let v: unknown = r;
  for (const k of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  if (v && typeof v === 'object' && 'median' in v) {
    const s = v as Spread;
    return s.rounds > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}-${fmt(s.max, digits)})` : fmt(s.median, digits);
  }
  return typeof v === 'number' ? fmt(v, digits) : '-';
}

/** Prints the results as one table: rows per measure, a column per concurrency level. */
export function printTable(r: Results): void {
  const ls = levels(r);
  const m = r['machine'] as { cpuModel: string; cores: number; node: string; date: string; loadAverageAtStart: number; loadAverageAtEnd: number };
  const table = new Table({ head: ['measure (median over rounds, min-max)', ...ls.map((c) => `c=${c}`)], style: { head: [], border: [] }, wordWrap: true });
  const row = (label: string, path: (c: string) => string, digits = 1) => table.push([label, ...ls.map((c) => cell(r, path(c), digits))]);
  const section = (title: string) => table.push([{ colSpan: ls.length + 1, content: title }]);
  section('Baselines and the trivial route (autocannon, req/s)');
  row('A: bare node:http req/s', (c) => `baselineHttp.${c}.rps`, 0);
  row("A': express 5, one route req/s", (c) => `baselineExpress.${c}.rps`, 0);
  row('  ratio to A', (c) => `ratios.expressVsBareHttp.${c}`, 2);
  row('daemon GET /healthz req/s', (c) => `trivialRoute.byConcurrency.${c}.rps`, 0);
  row('  ratio to A', (c) => `ratios.trivialRouteVsBareHttp.${c}`, 2);
  row('daemon GET /healthz p99 ms', (c) => `trivialRoute.byConcurrency.${c}.p99Ms`, 1);
  section('PartPay flow: create, QR, simulator approves, signed callback, long-poll answered');
  row('flows/s', (c) => `partpayFlows.byConcurrency.${c}.flowsPerSec`, 0);
  row('daemon CPU ms per flow', (c) => `partpayFlows.byConcurrency.${c}.daemonCpuMsPerFlow`, 2);
  row('WAL flushes per flow (one per group COMMIT)', (c) => `partpayFlows.byConcurrency.${c}.walFlushesPerFlow`, 2);
  row('create, middleware only, p50 ms', (c) => `partpayFlows.byConcurrency.${c}.createMiddlewareMs.p50`, 2);
  row('create, middleware only, p99 ms', (c) => `partpayFlows.byConcurrency.${c}.createMiddlewareMs.p99`, 2);
  row('create round trip p50 ms', (c) => `partpayFlows.byConcurrency.${c}.createRoundTripMs.p50`, 2);
  row('  of which PartPay simulator p50 ms', (c) => `partpayFlows.byConcurrency.${c}.upstreamCreateMs.p50`, 2);
  row('first QR fetch p50 ms', (c) => `partpayFlows.byConcurrency.${c}.qrFirstFetchMs.p50`, 2);
  row('callback->terminal p50 ms', (c) => `partpayFlows.byConcurrency.${c}.callbackToTerminalMs.p50`, 2);
  row('callback->terminal p99 ms', (c) => `partpayFlows.byConcurrency.${c}.callbackToTerminalMs.p99`, 2);
  row('callback answered (durable) p99 ms', (c) => `partpayFlows.byConcurrency.${c}.callbackAckMs.p99`, 2);
  row('daemon RSS after the level, MB', (c) => `partpayFlows.byConcurrency.${c}.memoryAfterMb.rss`, 0);
  row('  V8 heap (total), MB', (c) => `partpayFlows.byConcurrency.${c}.memoryAfterMb.heapTotal`, 0);
  row('  external buffers, MB', (c) => `partpayFlows.byConcurrency.${c}.memoryAfterMb.external`, 0);
  row('  native (RSS - heap - external), MB', (c) => `partpayFlows.byConcurrency.${c}.memoryAfterMb.native`, 0);
  section('Electrum flow: createQrCode, pay held open, notifyScan, forward, confirm');
  row('flows/s', (c) => `electrumFlows.byConcurrency.${c}.flowsPerSec`, 0);
  row('daemon CPU ms per flow', (c) => `electrumFlows.byConcurrency.${c}.daemonCpuMsPerFlow`, 2);
  row('scan -> pay answered p99 ms', (c) => `electrumFlows.byConcurrency.${c}.scanToPayMs.p99`, 1);
  console.log(`\ntenderbridge bench, ${m.date}, commit ${String(r['commit'] ?? '?')}: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd} at end`);
  console.log(table.toString());

  const qr = new Table({ head: ['QR per payment, ms (p50 / p99)', 'base64 JPEG', 'image URL', 'render only', 'cache hit', 'bytes'], style: { head: [], border: [] } });
  const perProfile = ((r['qr'] as { perProfile?: Record<string, unknown> } | undefined)?.perProfile ?? {}) as Record<string, unknown>;
  for (const p of Object.keys(perProfile)) {
    const pair = (k: string) => `${fmt(at(r, `qr.perProfile.${p}.${k}.p50`), 2)} / ${fmt(at(r, `qr.perProfile.${p}.${k}.p99`), 2)}`;
    qr.push([p, pair('base64'), pair('url'), pair('renderOnly'), pair('cachedHit'), fmt(at(r, `qr.perProfile.${p}.bytes`), 0)]);
  }
  if (Object.keys(perProfile).length > 0) console.log(qr.toString());
  const qrCost = new Table({ head: ['QR per payment, CPU ms', 'main thread (mean): base64 / URL / render', 'all threads p50 (p99): base64 / URL / render'], style: { head: [], border: [] } });
  for (const p of Object.keys(perProfile)) {
    const variants = ['base64', 'url', 'renderOnly'];
    const main = variants.map((v) => fmt(at(r, `qr.perProfile.${p}.mainThreadMs.${v}`), 2)).join(' / ');
    const all = variants.map((v) => `${fmt(at(r, `qr.perProfile.${p}.cpuMs.${v}.p50`), 2)} (${fmt(at(r, `qr.perProfile.${p}.cpuMs.${v}.p99`), 2)})`).join(' / ');
    qrCost.push([p, main, all]);
  }
  if (Object.keys(perProfile).length > 0) console.log(qrCost.toString());

  printOpenLoop(r);
  printPostgres(r);
  printSoak(r);
  printDbSize(r);

  const other = new Table({ head: ['other', 'value'], style: { head: [], border: [] } });
  other.push(
    ['B: raw SQLite commits/s (WAL, synchronous=FULL)', cell(r, 'baselineSqlite.commitsPerSec', 0)],
    ['B: state changes/s grouped 32 per commit', cell(r, 'baselineSqlite.groupedChangesPerSec', 0)],
    ['daemon durable state changes/s (best level)', fmt(at(r, 'ratios.durableStateChangesPerSec'), 0)],
    ['  ratio to B commits/s', fmt(at(r, 'ratios.durableStateChangesVsRawCommits'), 2)],
    ['QR re-fetch over HTTP, 200, p50 / p99 ms', `${fmt(at(r, 'qr.httpRefetch.image200.p50'), 2)} / ${fmt(at(r, 'qr.httpRefetch.image200.p99'), 2)}`],
    ['QR re-fetch over HTTP, 304, p50 / p99 ms', `${fmt(at(r, 'qr.httpRefetch.notModified304.p50'), 2)} / ${fmt(at(r, 'qr.httpRefetch.notModified304.p99'), 2)}`],
    ['start to ready line / to /healthz, ms', `${cell(r, 'startup.readyLogMs', 0)} / ${cell(r, 'startup.healthzMs', 0)}`],
    ['RSS at ready / peak under load, MB', `${cell(r, 'startup.rssAtReadyMb', 1)} / ${fmt(at(r, 'memory.peakRssMb'), 1)} (${String((r['memory'] as { heaviestPhase?: string } | undefined)?.heaviestPhase ?? '-')})`],
  );
  console.log(other.toString());

  const t = new Table({ head: ['target', 'value', 'goal', 'met', 'what bounds it (missed only)'], style: { head: [], border: [] }, colWidths: [40, 16, 14, 5, 70], wordWrap: true });
  for (const x of r['targets'] as ReturnType<typeof targets>) t.push([x.what, `${fmt(x.value, 2)} ${x.unit}`, x.target, x.met ? 'yes' : 'NO', x.bound ?? '']);
  console.log(t.toString());
}

/** Per database size: bytes per payment, the API against a fresh file, the jobs' batches, the purge. */
function printDbSize(r: Results): void {
  const sizes = r['dbSize'] as Record<string, { bytesPerPayment: number; fileBytes: number; startupMs: { empty: number; big: number }; api: Record<string, { freshP50Ms: number; bigP50Ms: number; ratioP50: number }>; jobs: Record<string, { cpuMsMax: number; cpuMsP50: number }>; backup?: { bytes: number; wallMs: number; eventLoopMs: number; longestWaitMs: number }; reportQuery?: { cpuMs: { cpuMsP50: number; cpuMsMax: number }; onThreadWallMs: { p50: number; max: number } }; purge: { nothingToDoCpuMs: number; oldestWeek: { payments: number; batches: number; wallMs: number; batchLoopMs: { p50: number; p99: number; max: number } } } }> | undefined;
  if (!sizes) return;
  for (const [n, x] of Object.entries(sizes)) {
    const t = new Table({ head: [`a year of ${n} payments: ${fmt(x.fileBytes / 1e6, 0)} MB, ${fmt(x.bytesPerPayment, 0)} bytes per payment`, 'fresh file', 'this file', 'ratio'], style: { head: [], border: [] } });
    t.push(['start to ready line, ms', fmt(x.startupMs.empty, 0), fmt(x.startupMs.big, 0), fmt(x.startupMs.big / x.startupMs.empty, 2)]);
    for (const [op, v] of Object.entries(x.api)) t.push([`${op}, p50 ms`, fmt(v.freshP50Ms, 2), fmt(v.bigP50Ms, 2), fmt(v.ratioP50, 2)]);
    for (const [job, v] of Object.entries(x.jobs)) t.push([`${job}: CPU ms p50 / max`, '', `${fmt(v.cpuMsP50, 2)} / ${fmt(v.cpuMsMax, 2)}`, '']);
    if (x.reportQuery) t.push(['the report query itself (now on its thread): CPU ms p50 / max; wall on the thread p50 / max', '', `${fmt(x.reportQuery.cpuMs.cpuMsP50, 2)} / ${fmt(x.reportQuery.cpuMs.cpuMsMax, 2)}; ${fmt(x.reportQuery.onThreadWallMs.p50, 2)} / ${fmt(x.reportQuery.onThreadWallMs.max, 2)}`, '']);
    if (x.backup) t.push([`nightly backup (${fmt(x.backup.bytes / 1e6, 0)} MB, ${fmt(x.backup.wallMs / 1000, 1)} s on its thread): event-loop ms in all / longest wait`, '', `${fmt(x.backup.eventLoopMs, 1)} / ${fmt(x.backup.longestWaitMs, 1)}`, '']);
    const w = x.purge.oldestWeek;
    t.push(['purge with nothing to do: CPU ms', '', fmt(x.purge.nothingToDoCpuMs, 2), '']);
    t.push([`purge of the oldest week: ${w.payments} payments, ${w.batches} batches, ${fmt(w.wallMs / 1000, 1)} s`, '', `batch event-loop p50 ${fmt(w.batchLoopMs.p50, 2)} / p99 ${fmt(w.batchLoopMs.p99, 2)} / max ${fmt(w.batchLoopMs.max, 2)} ms`, '']);
    console.log(t.toString());
  }
  const long = r['purgeLongRun'] as { perDay: number; retentionDays: number; periods: number; fileMbAfterFirstPeriod: number; fileMbAtSecondPeriod: number; fileMbAtEnd: number; walMbMax: number } | undefined;
  if (long) console.log(`purge over ${long.retentionDays * long.periods} days of ${long.perDay} payments, ${long.retentionDays}-day retention: file ${fmt(long.fileMbAfterFirstPeriod, 1)} MB after ${long.retentionDays} days, ${fmt(long.fileMbAtSecondPeriod, 1)} MB after ${2 * long.retentionDays}, ${fmt(long.fileMbAtEnd, 1)} MB at the end; WAL at most ${fmt(long.walMbMax, 1)} MB`);
}

/** PartPay flows on PostgreSQL with 1, 2 and 3 daemons, beside the SQLite daemon's at the nearest level. */
function printPostgres(r: Results): void {
  const pg = r['postgres'] as { concurrency: number; byDaemons?: Record<string, unknown>; skipped?: string } | undefined;
  if (!pg) return;
  if (pg.skipped) {
    console.log(`PostgreSQL phase skipped: ${pg.skipped}`);
    return;
  }
  const fleets = Object.keys(pg.byDaemons ?? {});
  const t = new Table({ head: [`PartPay flows on PostgreSQL, ${pg.concurrency} terminals spread over the daemons (median, min-max)`, ...fleets.map((n) => `${n} daemon${n === '1' ? '' : 's'}`)], style: { head: [], border: [] } });
  const row = (label: string, k: string, digits: number) => t.push([label, ...fleets.map((n) => cell(r, `postgres.byDaemons.${n}.${k}`, digits))]);
  row('flows/s', 'flowsPerSec', 0);
  row('daemons CPU ms per flow (all daemons)', 'daemonCpuMsPerFlow', 2);
  row('PostgreSQL server CPU ms per flow', 'postgresCpuMsPerFlow', 2);
  row("busiest daemon's share of the daemons' CPU", 'busiestDaemonCpuShare', 2);
  row('create round trip p50 ms', 'createRoundTripMs.p50', 2);
  row('create round trip p99 ms', 'createRoundTripMs.p99', 2);
  row('flows (errors)', 'flows', 0);
  console.log(t.toString());
}

/** The soak's verdicts: growth of RSS and its parts after warm-up, WAL, file descriptors, errors. */
function printSoak(r: Results): void {
  const k = r['soak'] as Record<string, Record<string, number | boolean>> & { minutes: number; flows: number; errors: number; offeredPerSec: number } | undefined;
  if (!k) return;
  const t = new Table({ head: [`soak: ${fmt(k.minutes, 1)} min at ${fmt(k.offeredPerSec, 1)} flows/s, ${k.flows} flows, ${k.errors} errors`, 'last', 'MB/h after warm-up', 'last quarter - second, MB', 'grows'], style: { head: [], border: [] } });
  for (const part of ['rss', 'heapUsed', 'external', 'native']) {
    const g = k[part] as { lastMb: number; mbPerHour: number; quarterDeltaMb: number; grows: boolean };
    t.push([part, fmt(g.lastMb, 1), fmt(g.mbPerHour, 1), fmt(g.quarterDeltaMb, 1), g.grows ? 'YES' : 'no']);
  }
  const wal = k['wal'] as { maxMb: number; lastMb: number };
  const fds = k['openFds'] as { atStart: number; last: number; max: number };
  const db = k['database'] as { atStartMb: number; lastMb: number };
  t.push(['WAL, MB (max / last)', `${fmt(wal.maxMb, 1)} / ${fmt(wal.lastMb, 1)}`, '', '', '']);
  t.push(['database file, MB (start / last)', `${fmt(db.atStartMb, 1)} / ${fmt(db.lastMb, 1)}`, '', '', '']);
  t.push(['open file descriptors (start / last / max)', `${fds.atStart} / ${fds.last} / ${fds.max}`, '', '', '']);
  console.log(t.toString());
}

/** The open-loop levels side by side (p50 / p99 / p99.9 / max), with the targets at 50 % beside them. */
function printOpenLoop(r: Results): void {
  const open = r['openLoop'] as { capacityFlowsPerSec: number; byPercentOfCapacity: Record<string, { offeredPerSec: number; flows: number; errors: number }> } | undefined;
  if (!open) return;
  const pcts = Object.keys(open.byPercentOfCapacity);
  const goals = new Map((r['targets'] as ReturnType<typeof targets>).map((x) => [x.id, x]));
  const t = new Table({ head: [`open loop, ms: p50 / p99 / p99.9 / max (capacity ${fmt(open.capacityFlowsPerSec, 0)} flows/s)`, ...pcts.map((p) => `${p}%`), 'target at 50%'], style: { head: [], border: [] } });
  const tails = (p: string, k: string) => ['p50', 'p99', 'p999', 'max'].map((q) => fmt(at(r, `openLoop.byPercentOfCapacity.${p}.${k}.${q}`), 1)).join(' / ');
  const goal = (id: string) => {
    const g = goals.get(id);
    return g ? `p99 ${g.target}: ${g.met ? 'met' : 'missed'}` : '';
  };
  t.push(['offered flows/s (flows, errors)', ...pcts.map((p) => `${fmt(open.byPercentOfCapacity[p]?.offeredPerSec ?? Number.NaN, 1)} (${open.byPercentOfCapacity[p]?.flows ?? 0}, ${open.byPercentOfCapacity[p]?.errors ?? 0})`), '']);
  t.push(['create overhead (from schedule, simulator time subtracted)', ...pcts.map((p) => tails(p, 'createOverheadMs')), goal('open-create-p99')]);
  t.push(['first QR fetch (from create answered)', ...pcts.map((p) => tails(p, 'qrFirstFetchMs')), '']);
  t.push(['callback -> terminal', ...pcts.map((p) => tails(p, 'callbackToTerminalMs')), goal('open-callback-p99')]);
  t.push(["daemon's event-loop delay", ...pcts.map((p) => tails(p, 'eventLoopDelayMs')), goal('open-loop-delay-p99')]);
  const flush = (p: string) => {
    const n = at(r, `openLoop.byPercentOfCapacity.${p}.diskFlushMs.n`);
    if (!(n > 0)) return '-';
    return `${fmt(at(r, `openLoop.byPercentOfCapacity.${p}.diskFlushMs.meanMs`), 1)} / <= ${fmt(at(r, `openLoop.byPercentOfCapacity.${p}.diskFlushMs.p50AtMostMs`), 1)} / <= ${fmt(at(r, `openLoop.byPercentOfCapacity.${p}.diskFlushMs.p99AtMostMs`), 1)} (${n})`;
  };
  t.push(['WAL flush: mean / p50 / p99 (flushes)', ...pcts.map(flush), '']);
  t.push(['load generator late to start a flow', ...pcts.map((p) => tails(p, 'generatorStartLateMs')), '']);
  console.log(t.toString());
}

/** The A/B table of `--compare`: each figure's medians and the median of its per-round ratio B/A. */
export function printCompare(r: Results): void {
  const c = r['compare'] as { a: { label: string }; b: { label: string }; rounds: number; order: string; nodeModules: string; figures: Record<string, { a: Spread; b: Spread; ratioBA: Spread; higherIsBetter: boolean }> } | undefined;
  if (!c) return;
  const m = r['machine'] as { cpuModel: string; cores: number; node: string; date: string; loadAverageAtStart: number; loadAverageAtEnd: number };
  console.log(`\ntenderbridge bench --compare, ${m.date}: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd} at end`);
  console.log(`A = ${c.a.label}; B = ${c.b.label} (node_modules ${c.nodeModules}); rounds ${c.order}`);
  const t = new Table({ head: ['figure', 'A median', 'B median', 'B/A median (min-max over rounds)', 'better'], style: { head: [], border: [] } });
  for (const [name, f] of Object.entries(c.figures)) {
    const ratio = f.ratioBA.rounds > 1 ? `${fmt(f.ratioBA.median, 2)} (${fmt(f.ratioBA.min, 2)}-${fmt(f.ratioBA.max, 2)})` : fmt(f.ratioBA.median, 2);
    t.push([name, fmt(f.a.median, 2), fmt(f.b.median, 2), ratio, f.higherIsBetter ? 'higher' : 'lower']);
  }
  console.log(t.toString());
}
