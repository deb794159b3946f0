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

/** Each target of the issue with the measured value and whether it is met. */
export function targets(r: Results) {
  const ls = levels(r);
  const ref = refLevel(r);
  const top = ls[ls.length - 1] ?? '1';
  const profiles = Object.keys((r['qr'] as { perProfile?: object } | undefined)?.perProfile ?? {});
  const worstRender = Math.max(...profiles.flatMap((p) => [at(r, `qr.perProfile.${p}.base64.p50`), at(r, `qr.perProfile.${p}.url.p50`)]));
  const rows: Array<{ id: string; what: string; target: string; value: number; unit: string; met: boolean }> = [];
  const add = (id: string, what: string, value: number, unit: string, limit: number, atMost: boolean) =>
    rows.push({ id, what, target: `${atMost ? '<=' : '>='} ${limit} ${unit}`, value: round(value, 2), unit, met: Number.isFinite(value) && (atMost ? value <= limit : value >= limit) });
  add('flows', 'PartPay flows/s (best level)', Math.max(...ls.map((c) => at(r, `partpayFlows.byConcurrency.${c}.flowsPerSec`))), 'flows/s', 1000, false);
  add('create-p50', `create middleware p50 at ${ref}`, at(r, `partpayFlows.byConcurrency.${ref}.createMiddlewareMs.p50`), 'ms', 2, true);
  add('create-p99', `create middleware p99 at ${ref}`, at(r, `partpayFlows.byConcurrency.${ref}.createMiddlewareMs.p99`), 'ms', 10, true);
  add('callback-p99', `callback->terminal p99 at ${ref}`, at(r, `partpayFlows.byConcurrency.${ref}.callbackToTerminalMs.p99`), 'ms', 5, true);
  // Open loop: the latency targets at half the measured capacity, counted from each flow's scheduled start.
  add('open-create-p99', 'open loop at 50% of capacity: create overhead p99', at(r, 'openLoop.byPercentOfCapacity.50.createOverheadMs.p99'), 'ms', 10, true);
  add('open-callback-p99', 'open loop at 50%: callback->terminal p99', at(r, 'openLoop.byPercentOfCapacity.50.callbackToTerminalMs.p99'), 'ms', 5, true);
  add('open-loop-delay-p99', "open loop at 50%: daemon's event-loop delay p99", at(r, 'openLoop.byPercentOfCapacity.50.eventLoopDelayMs.p99'), 'ms', 10, true);
  add('electrum-cost', `Electrum / PartPay daemon CPU per flow at ${top}`, at(r, 'ratios.electrumVsPartPayCpuPerFlow'), 'x', 2, true);
  add('qr-render', 'QR first render p50, worst profile/variant', worstRender, 'ms', 3, true);
  add('qr-cached', 'QR cached re-fetch over HTTP p50', at(r, 'qr.httpRefetch.image200.p50'), 'ms', 0.5, true);
  add('rss', 'peak RSS of the daemon', at(r, 'memory.peakRssMb'), 'MB', 150, true);
  add('startup', 'start to ready (log line)', at(r, 'startup.readyLogMs'), 'ms', 1000, true);
  return rows;
}

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? String(round(v, digits)) : '-');
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
  row('daemon GET /healthz req/s', (c) => `trivialRoute.byConcurrency.${c}.rps`, 0);
  row('  ratio to A', (c) => `ratios.trivialRouteVsBareHttp.${c}`, 2);
  row('daemon GET /healthz p99 ms', (c) => `trivialRoute.byConcurrency.${c}.p99Ms`, 1);
  section('PartPay flow: create, QR, simulator approves, signed callback, long-poll answered');
  row('flows/s', (c) => `partpayFlows.byConcurrency.${c}.flowsPerSec`, 0);
  row('daemon CPU ms per flow', (c) => `partpayFlows.byConcurrency.${c}.daemonCpuMsPerFlow`, 2);
  row('create, middleware only, p50 ms', (c) => `partpayFlows.byConcurrency.${c}.createMiddlewareMs.p50`, 2);
  row('create, middleware only, p99 ms', (c) => `partpayFlows.byConcurrency.${c}.createMiddlewareMs.p99`, 2);
  row('create round trip p50 ms', (c) => `partpayFlows.byConcurrency.${c}.createRoundTripMs.p50`, 2);
  row('  of which PartPay simulator p50 ms', (c) => `partpayFlows.byConcurrency.${c}.upstreamCreateMs.p50`, 2);
  row('first QR fetch p50 ms', (c) => `partpayFlows.byConcurrency.${c}.qrFirstFetchMs.p50`, 2);
  row('callback->terminal p50 ms', (c) => `partpayFlows.byConcurrency.${c}.callbackToTerminalMs.p50`, 2);
  row('callback->terminal p99 ms', (c) => `partpayFlows.byConcurrency.${c}.callbackToTerminalMs.p99`, 2);
  row('callback answered (durable) p99 ms', (c) => `partpayFlows.byConcurrency.${c}.callbackAckMs.p99`, 2);
  section('Electrum flow: createQrCode, pay held open, notifyScan, forward, confirm');
  row('flows/s', (c) => `electrumFlows.byConcurrency.${c}.flowsPerSec`, 0);
  row('daemon CPU ms per flow', (c) => `electrumFlows.byConcurrency.${c}.daemonCpuMsPerFlow`, 2);
  row('scan -> pay answered p99 ms', (c) => `electrumFlows.byConcurrency.${c}.scanToPayMs.p99`, 1);
  console.log(`\ntenderbridge bench, ${m.date}: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd} at end`);
  console.log(table.toString());

  const qr = new Table({ head: ['QR per payment, ms (p50 / p99)', 'base64 JPEG', 'image URL', 'render only', 'cache hit', 'bytes'], style: { head: [], border: [] } });
  const perProfile = ((r['qr'] as { perProfile?: Record<string, unknown> } | undefined)?.perProfile ?? {}) as Record<string, unknown>;
  for (const p of Object.keys(perProfile)) {
    const pair = (k: string) => `${fmt(at(r, `qr.perProfile.${p}.${k}.p50`), 2)} / ${fmt(at(r, `qr.perProfile.${p}.${k}.p99`), 2)}`;
    qr.push([p, pair('base64'), pair('url'), pair('renderOnly'), pair('cachedHit'), fmt(at(r, `qr.perProfile.${p}.bytes`), 0)]);
  }
  if (Object.keys(perProfile).length > 0) console.log(qr.toString());

  printOpenLoop(r);

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

  const t = new Table({ head: ['target', 'value', 'goal', 'met'], style: { head: [], border: [] } });
  for (const x of r['targets'] as ReturnType<typeof targets>) t.push([x.what, `${fmt(x.value, 2)} ${x.unit}`, x.target, x.met ? 'yes' : 'NO']);
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
