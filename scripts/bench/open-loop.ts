import type { HttpClient } from './http-client.js';
import { openLoop, sleep } from './loop.js';
import { correlate, partpayFlow } from './partpay-flow.js';
import type { Progress } from './progress.js';
import { BENCH, type Stack } from './setup.js';
import { latencies, round, type LatencySummary } from './stats.js';

export interface OpenLoopSettings {
  /** Offered load as fractions of the capacity the closed loop measured. */
  fractions: number[];
  seconds: number;
}

/** p50 / p99 / p99.9 / max of one level, in ms. */
type Tail = Pick<LatencySummary, 'n' | 'p50' | 'p99' | 'p999' | 'max'>;
const tail = (samples: readonly number[]): Tail => {
  const { n, p50, p99, p999, max } = latencies(samples);
  return { n, p50, p99, p999, max };
};

/**
 * The daemon's own event-loop delay since the previous read (`tenderbridge_event_loop_delay_seconds`,
 * which each scrape resets), in ms, NaN for a build without that metric; and its flush histogram
 * (`tenderbridge_db_flush_duration_seconds`, cumulative) as read then.
 */
async function scrape(http: HttpClient): Promise<{ loop: Omit<Tail, 'n'>; flushes: Flushes | null }> {
  const text = (await http.send('GET', '/metrics')).body.toString('utf8');
  const q = (quantile: string) => Number(new RegExp(`^tenderbridge_event_loop_delay_seconds\\{quantile="${quantile}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return { loop: { p50: q('0.5'), p99: q('0.99'), p999: q('0.999'), max: q('1') }, flushes: flushHistogram(text) };
}

/** The flush histogram's cumulative buckets (upper bound in ms -> count), sum (ms) and count. */
interface Flushes {
  buckets: Array<[number, number]>;
  sumMs: number;
  count: number;
}

export function flushHistogram(text: string): Flushes | null {
  const buckets = [...text.matchAll(/^tenderbridge_db_flush_duration_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map((m): [number, number] => [m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000, Number(m[2])]);
  if (buckets.length === 0) return null;
  const value = (name: string) => Number(new RegExp(`^tenderbridge_db_flush_duration_seconds_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { buckets, sumMs: value('sum') * 1000, count: value('count') };
}

/**
 * The flushes between two reads: how many, their mean, and the bucket bounds their p50 and p99 fall
 * under (a histogram tells no finer). Each answer reporting a write waits for up to two of them:
 * the one under way when it committed, and its own.
 */
function flushesBetween(a: Flushes | null, b: Flushes | null) {
  if (a === null || b === null) return null;
  const n = b.count - a.count;
  if (n <= 0) return { n: 0 };
  const at = (quantile: number) => b.buckets.find(([, c], i) => c - (a.buckets[i]?.[1] ?? 0) >= quantile * n)?.[0] ?? Infinity;
  return { n, meanMs: (b.sumMs - a.sumMs) / n, p50AtMostMs: at(0.5), p99AtMostMs: at(0.99), p999AtMostMs: at(0.999) };
}

/**
 * PartPay flows offered at fixed arrival rates (fractions of `capacity` flows/s), latency
 * counted from each flow's scheduled start (see {@link openLoop}). Create overhead is the
 * terminal's wait from the scheduled time to create's answer minus the simulator's own time;
 * the first QR fetch runs from create's answer, as a till sends it then; callback -> terminal
 * from the simulator sending the callback to the waiting long-poll's answer.
 */
export async function openLoopPhase(stack: Stack, http: HttpClient, capacity: number, s: OpenLoopSettings, progress: Progress) {
  if (!(capacity > 0)) throw new Error(`open loop needs the closed loop's PartPay capacity, got ${capacity} flows/s`);
  const flow = partpayFlow(http, BENCH.terminals[0].key);
  const levels: Record<string, unknown> = {};
  await stack.sims.drain();
  for (const fraction of s.fractions) {
    const rate = capacity * fraction;
    const before = await scrape(http); // starts the daemon's event-loop window
    const run = await openLoop(rate, s.seconds * 1000, flow);
    const after = await scrape(http);
    const loop = after.loop;
    await sleep(150); // let the last callbacks' timings land
    // From the schedule, not the send: a late start is the daemon's (or this box's) delay too.
    const flows = run.results.map(({ scheduledAt, value }) => ({ ...value, createMs: value.createMs + (value.sentAt - scheduledAt) }));
    const corr = correlate(flows, await stack.sims.drain());
    const x = {
      fraction,
      offeredPerSec: rate,
      flows: run.results.length,
      errors: run.errors,
      errorKinds: run.errorKinds,
      createOverheadMs: tail(corr.middlewareCreate),
      qrFirstFetchMs: tail(flows.map((f) => f.qrMs)),
      callbackToTerminalMs: { ...tail(corr.callbackToTerminal), pollOpenedAfterCallback: corr.pollLate },
      eventLoopDelayMs: loop,
      diskFlushMs: flushesBetween(before.flushes, after.flushes),
      generatorStartLateMs: tail(run.startLateMs),
    };
    levels[String(Math.round(fraction * 100))] = x;
    progress.step(`open loop ${Math.round(fraction * 100)}% of ${round(capacity, 0)} flows/s (${round(rate, 1)}/s, ${run.offered} flows): create overhead p99 ${round(x.createOverheadMs.p99)} ms, callback->terminal p99 ${round(x.callbackToTerminalMs.p99)} ms, event-loop delay p99 ${round(loop.p99)} ms, WAL flush p99 <= ${x.diskFlushMs && 'p99AtMostMs' in x.diskFlushMs ? x.diskFlushMs.p99AtMostMs : '-'} ms${run.errors ? `, ${run.errors} errors: ${Object.entries(run.errorKinds).map(([k, n]) => `${n}× ${k}`).join('; ')}` : ''}`);
  }
  return { capacityFlowsPerSec: capacity, capacityFrom: 'best closed-loop PartPay flows/s of this run (median over rounds)', seconds: s.seconds, byPercentOfCapacity: levels };
}
