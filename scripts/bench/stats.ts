/** Small statistics for benchmark samples: percentiles, and the spread of per-round figures. */

/** The p-th percentile (0-100) of ascending `sorted`, by nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** Latency samples of one round, in ms. */
export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function latencies(samples: readonly number[]): LatencySummary {
  const s = ascending(samples);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), p999: percentile(s, 99.9), max: s[s.length - 1] ?? Number.NaN };
}

/** One figure measured over several rounds: the median is the headline, min/max and IQR the noise. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** p75 - p25 of the rounds (0 with fewer than 4 rounds, where min/max says more). */
  iqr: number;
  rounds: number;
}

export function spread(values: readonly number[]): Spread {
  const s = ascending(values.filter((v) => Number.isFinite(v)));
  if (s.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, iqr: Number.NaN, rounds: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const iqr = s.length >= 4 ? percentile(s, 75) - percentile(s, 25) : 0;
  return { median, min: s[0] as number, max: s[s.length - 1] as number, iqr, rounds: s.length };
}

/** Rounds to a sensible number of digits for a table or JSON. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Milliseconds on the system-wide monotonic clock (CLOCK_MONOTONIC): comparable across processes on this machine. */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;
