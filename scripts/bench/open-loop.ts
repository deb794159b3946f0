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
 * which each scrape resets), in ms; NaN for a build without that metric.
 */
async function eventLoopDelay(http: HttpClient): Promise<Omit<Tail, 'n'>> {
  const text = (await http.send('GET', '/metrics')).body.toString('utf8');
  const q = (quantile: string) => Number(new RegExp(`^tenderbridge_event_loop_delay_seconds\\{quantile="${quantile}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return { p50: q('0.5'), p99: q('0.99'), p999: q('0.999'), max: q('1') };
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
    await eventLoopDelay(http); // starts the daemon's window
    const run = await openLoop(rate, s.seconds * 1000, flow);
    const loop = await eventLoopDelay(http);
    await sleep(150); // let the last callbacks' timings land
    // From the schedule, not the send: a late start is the daemon's (or this box's) delay too.
    const flows = run.results.map(({ scheduledAt, value }) => ({ ...value, createMs: value.createMs + (value.sentAt - scheduledAt) }));
    const corr = correlate(flows, await stack.sims.drain());
    const x = {
      fraction,
      offeredPerSec: rate,
      flows: run.results.length,
      errors: run.errors,
      createOverheadMs: tail(corr.middlewareCreate),
      qrFirstFetchMs: tail(flows.map((f) => f.qrMs)),
      callbackToTerminalMs: { ...tail(corr.callbackToTerminal), pollOpenedAfterCallback: corr.pollLate },
      eventLoopDelayMs: loop,
      generatorStartLateMs: tail(run.startLateMs),
    };
    levels[String(Math.round(fraction * 100))] = x;
    progress.step(`open loop ${Math.round(fraction * 100)}% of ${round(capacity, 0)} flows/s (${round(rate, 1)}/s, ${run.offered} flows): create overhead p99 ${round(x.createOverheadMs.p99)} ms, callback->terminal p99 ${round(x.callbackToTerminalMs.p99)} ms, event-loop delay p99 ${round(loop.p99)} ms${run.errors ? `, ${run.errors} errors: ${run.firstError}` : ''}`);
  }
  return { capacityFlowsPerSec: capacity, capacityFrom: 'best closed-loop PartPay flows/s of this run (median over rounds)', seconds: s.seconds, byPercentOfCapacity: levels };
}
