import { usageError } from './io.js';

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The local calendar day `YYYY-MM-DD` as [start, next day's start) in epoch ms, DST-safe. */
export function localDayBounds(day: string): { from: number; to: number } {
  const m = DAY.exec(day);
  if (!m) throw usageError(`"${day}" is not a date: use YYYY-MM-DD`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  const start = new Date(y, mo, d);
  if (start.getFullYear() !== y || start.getMonth() !== mo || start.getDate() !== d) throw usageError(`"${day}" is not a calendar date`);
  return { from: start.getTime(), to: new Date(y, mo, d + 1).getTime() };
}

/** Today's local date as `YYYY-MM-DD`. */
export function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * A `--from`/`--to` value: `YYYY-MM-DD` is a local day (its start for `from`; for `to` the
 * whole day is included, so the bound is the next day's start), anything else must be an ISO
 * 8601 timestamp and is taken as is.
 */
export function parseDateBound(value: string, edge: 'from' | 'to'): number {
  if (DAY.test(value)) {
    const day = localDayBounds(value);
    return edge === 'from' ? day.from : day.to;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) throw usageError(`--${edge} "${value}": use YYYY-MM-DD (local day) or an ISO timestamp such as 2026-03-01T09:30:00+13:00`);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw usageError(`--${edge} "${value}" is not a valid timestamp`);
  return ms;
}
