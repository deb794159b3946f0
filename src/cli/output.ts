import Table from 'cli-table3';
import { formatMoney } from '../shared/money.js';
import { neutraliseControls } from '../shared/text.js';

/**
 * One table cell as the operator's terminal may show it: stored text (a merchant reference from
 * an Electrum rrn, a raw callback body, a partner's error) has its control characters shown as
 * `\uXXXX`, before the table measures it.
 */
const cellText = (value: string | number | null): string => (value === null ? '' : neutraliseControls(String(value)));

/** Renders rows as a plain table for people (no colours: the output often lands in a ticket). */
export function renderTable(head: string[], rows: Array<Array<string | number | null>>): string {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map(cellText));
  return `${table.toString()}\n`;
}

/** Renders `key: value` pairs as a two-column table. */
export function renderPairs(pairs: Array<[string, string | number | null]>): string {
  const table = new Table({ style: { head: [], border: [] } });
  for (const [key, value] of pairs) table.push({ [key]: cellText(value) });
  return `${table.toString()}\n`;
}

/** JSON for scripts: one document, two-space indented, newline-terminated. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Local date-time without milliseconds, e.g. `2026-03-01 14:05:09`; the zone is the host's. */
export function formatTime(ms: number | null): string {
  if (ms === null) return '';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Money for people; falls back to minor units for a currency the platform does not know. */
export function money(minor: number, currency: string): string {
  try {
    return formatMoney(minor, currency);
  } catch {
    return `${currency} ${minor} (minor units)`;
  }
}
