import { sampleDaemon, slope, type DaemonSample } from './daemon-probe.js';
import type { HttpClient } from './http-client.js';
import { openLoop, sleep } from './loop.js';
import { correlate, partpayFlow } from './partpay-flow.js';
import type { Progress } from './progress.js';
import { BENCH, type Stack } from './setup.js';
import { latencies, monoMs, round } from './stats.js';

export interface SoakSettings {
  durationMs: number;
  /** Fraction of the measured capacity offered (the issue asks for 0.5). */
  fraction: number;
  /** Length of one open-loop window; the daemon is sampled between windows. */
  windowMs: number;
}

interface SoakWindow extends DaemonSample {
  atMin: number;
  flows: number;
  errors: number;
  errorKinds: Record<string, number>;
  createOverheadP99Ms: number;
  callbackToTerminalP99Ms: number;
}

/** Growth allowed before the soak says the daemon grows: this much per hour of run, in both the slope and the quarter-to-quarter delta. */
const GROWTH_MB_PER_HOUR = 5;

/**
 * `--soak=30m`: PartPay flows offered at a fixed fraction of capacity for a long time, in
 * open-loop windows, the daemon sampled between them (RSS and what makes it up, open file
 * descriptors, database and WAL size). The first quarter is warm-up (JIT, caches filling up to
 * their bounds); growth is judged on the rest, by the least-squares slope and by the second
 * quarter's mean against the last quarter's.
 * @example await soakPhase(stack, http, 180, { durationMs: 30 * 60_000, fraction: 0.5, windowMs: 30_000 }, progress)
 */
export async function soakPhase(stack: Stack, http: HttpClient, capacity: number, s: SoakSettings, progress: Progress) {
  if (!(capacity > 0)) throw new Error(`soak needs the closed loop's PartPay capacity, got ${capacity} flows/s`);
  const flow = partpayFlow(http, BENCH.terminals[0].key);
  const rate = capacity * s.fraction;
  const start = monoMs();
  const first = await sampleDaemon(http, stack.daemon.pid, stack.dbPath);
  const windows: SoakWindow[] = [];
  await stack.sims.drain();
  while (monoMs() - start < s.durationMs) {
    const run = await openLoop(rate, Math.min(s.windowMs, s.durationMs - (monoMs() - start)), flow);
    await sleep(150); // the last callbacks' timings
    const flows = run.results.map(({ scheduledAt, value }) => ({ ...value, createMs: value.createMs + (value.sentAt - scheduledAt) }));
    const corr = correlate(flows, await stack.sims.drain());
    const w: SoakWindow = {
      atMin: (monoMs() - start) / 60_000,
      flows: run.results.length,
      errors: run.errors,
      errorKinds: run.errorKinds,
      createOverheadP99Ms: latencies(corr.middlewareCreate).p99,
      callbackToTerminalP99Ms: latencies(corr.callbackToTerminal).p99,
      ...(await sampleDaemon(http, stack.daemon.pid, stack.dbPath)),
    };
    windows.push(w);
    progress.step(`soak ${round(w.atMin, 1)}/${round(s.durationMs / 60_000, 1)} min at ${round(rate, 1)} flows/s: RSS ${round(w.rssMb, 1)} MB (heap ${round(w.heapUsedMb, 1)}, external ${round(w.externalMb, 1)}, native ${round(w.nativeMb, 1)}), WAL ${round(w.walMb, 1)} MB, ${w.openFds} fds, create p99 ${round(w.createOverheadP99Ms)} ms${run.errors ? `, ${run.errors} errors: ${Object.entries(run.errorKinds).map(([k, n]) => `${n}× ${k}`).join('; ')}` : ''}`);
  }
  const settled = windows.filter((w) => w.atMin >= windows.at(-1)!.atMin / 4);
  const quarter = (q: number) => windows.filter((w) => w.atMin >= (windows.at(-1)!.atMin * q) / 4 && w.atMin <= (windows.at(-1)!.atMin * (q + 1)) / 4);
  const mean = (ws: SoakWindow[], f: (w: SoakWindow) => number) => ws.reduce((a, w) => a + f(w), 0) / Math.max(1, ws.length);
  const perHour = (f: (w: SoakWindow) => number) => slope(settled.map((w) => w.atMin / 60), settled.map(f));
  const hours = (windows.at(-1)?.atMin ?? 0) / 60;
  const growth = (f: (w: SoakWindow) => number) => {
    const mbPerHour = perHour(f);
    const quarterDeltaMb = mean(quarter(3), f) - mean(quarter(1), f);
    return { mbPerHour, quarterDeltaMb, grows: mbPerHour > GROWTH_MB_PER_HOUR && quarterDeltaMb > GROWTH_MB_PER_HOUR * Math.max(hours, 0.1) };
  };
  const max = (f: (w: SoakWindow) => number) => Math.max(...windows.map(f));
  return {
    minutes: hours * 60,
    offeredPerSec: rate,
    fractionOfCapacity: s.fraction,
    capacityFlowsPerSec: capacity,
    flows: windows.reduce((n, w) => n + w.flows, 0),
    errors: windows.reduce((n, w) => n + w.errors, 0),
    growthRule: `grows when, after the first quarter, the least-squares slope exceeds ${GROWTH_MB_PER_HOUR} MB/h and the last quarter's mean exceeds the second's by ${GROWTH_MB_PER_HOUR} MB per hour of run`,
    rss: { atStartMb: first.rssMb, lastMb: windows.at(-1)?.rssMb ?? Number.NaN, maxMb: max((w) => w.rssMb), ...growth((w) => w.rssMb) },
    heapUsed: { lastMb: windows.at(-1)?.heapUsedMb ?? Number.NaN, ...growth((w) => w.heapUsedMb) },
    external: { lastMb: windows.at(-1)?.externalMb ?? Number.NaN, ...growth((w) => w.externalMb) },
    native: { lastMb: windows.at(-1)?.nativeMb ?? Number.NaN, ...growth((w) => w.nativeMb) },
    wal: { maxMb: max((w) => w.walMb), lastMb: windows.at(-1)?.walMb ?? Number.NaN },
    database: { atStartMb: first.dbMb, lastMb: windows.at(-1)?.dbMb ?? Number.NaN },
    openFds: { atStart: first.openFds, last: windows.at(-1)?.openFds ?? Number.NaN, max: max((w) => w.openFds) },
    createOverheadP99Ms: { first: windows[0]?.createOverheadP99Ms ?? Number.NaN, last: windows.at(-1)?.createOverheadP99Ms ?? Number.NaN, max: max((w) => w.createOverheadP99Ms) },
    windows,
  };
}

/** `30m`, `90s`, `1h` -> milliseconds; throws a usage error on anything else. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`--soak wants a duration such as 30m, 90s or 1h, not "${text}"`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}
