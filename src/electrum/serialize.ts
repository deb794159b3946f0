/**
 * Serialisation rules of the Electrum spec: nulls are omitted, times are RFC 3339 in UTC
 * with milliseconds.
 */

/**
 * Returns a copy of `value` without null or undefined properties or array elements, at any
 * depth. Only plain objects and arrays are walked; anything else (a Date, say) is kept as is.
 * @example toWire({ a: 1, b: null, c: { d: undefined } }) // { a: 1, c: {} }
 */
export function toWire<T>(value: T): T {
  return strip(value) as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== undefined).map(strip);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v !== null && v !== undefined) out[key] = strip(v);
  }
  return out;
}

/**
 * An Electrum timestamp: RFC 3339, UTC, millisecond precision.
 * @example electrumTime(new Date(Date.UTC(2026, 10, 21, 22, 37, 45, 854))) // '2026-11-21T22:37:45.854Z'
 */
export function electrumTime(date: Date | number = new Date()): string {
  return (typeof date === 'number' ? new Date(date) : date).toISOString();
}

export { errorDetail, formatErrorFromZod, truncateText, type ErrorDetailInput } from './error-detail.js';
