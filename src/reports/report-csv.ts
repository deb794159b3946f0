import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsv } from '../shared/csv.js';
import { currencyExponent, toMajorUnits } from '../shared/money.js';
import type { EndOfDayFigures, EndOfDayReport } from './end-of-day.js';

/** Column order of the CSV; amounts are decimal major units (19.95) for spreadsheets. */
export const REPORT_CSV_COLUMNS = [
  'level',
  'store',
  'terminal',
  'currency',
  'approved_count',
  'approved_amount',
  'declined_count',
  'cancelled_count',
  'expired_count',
  'failed_count',
  'reversed_count',
  'open_count',
  'refunds_count',
  'refunds_amount',
  'late_approvals',
] as const;

function decimal(minor: number, currency: string): string {
  try {
    return toMajorUnits(minor, currency).toFixed(currencyExponent(currency));
  } catch {
    return String(minor);
  }
}

function figures(f: EndOfDayFigures): Array<string | number> {
  return [f.currency, f.approvedCount, decimal(f.approvedMinor, f.currency), f.declinedCount, f.cancelledCount, f.expiredCount, f.failedCount, f.reversedCount, f.openCount, f.refundsCount, decimal(f.refundedMinor, f.currency), f.lateApprovals];
}

/**
 * The report as CSV with a header row: one line per terminal, then per store, then the total
 * per currency (`level` says which). Text that could start a spreadsheet formula is quoted
 * (see `toCsv`).
 */
export function reportCsv(report: EndOfDayReport): string {
  const rows = [
    ...report.terminals.map((t) => ['terminal', t.storeId, t.terminalId, ...figures(t)]),
    ...report.stores.map((s) => ['store', s.storeId, '', ...figures(s)]),
    ...report.totals.map((t) => ['total', '', '', ...figures(t)]),
  ];
  return toCsv(rows, REPORT_CSV_COLUMNS);
}

/**
 * Writes `report-YYYY-MM-DD.csv` into `dir` atomically (temporary file, then rename), so a
 * reader never sees half a report. Returns the path written.
 * @example writeReportFile('/var/lib/tenderbridge/reports', '2026-03-01', endOfDayReport(db, bounds))
 */
export function writeReportFile(dir: string, date: string, report: EndOfDayReport): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new RangeError(`report date "${date}" must be YYYY-MM-DD`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `report-${date}.csv`);
  const temp = join(dir, `.report-${date}.csv.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, reportCsv(report), { flag: 'wx' });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return path;
}
