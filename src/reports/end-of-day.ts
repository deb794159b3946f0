import { readSnapshot } from '../shared/db/group-commit.js';
import type { Db } from '../shared/db/open.js';

/** Counts and sums (integer minor units) of one terminal, store, or currency over a period. */
export interface EndOfDayFigures {
  currency: string;
  /** Payments created in the period that the customer paid (approved, partially or fully refunded since). */
  approvedCount: number;
  approvedMinor: number;
  declinedCount: number;
  cancelledCount: number;
  expiredCount: number;
  failedCount: number;
  /** Voided by an Electrum reversal advice. */
  reversedCount: number;
  /** Still waiting for the customer when the report ran. */
  openCount: number;
  /** Refunds that succeeded in the period (of payments from any day). */
  refundsCount: number;
  refundedMinor: number;
  /** Payments flagged as approved after the terminal was told "not paid", flagged in the period. */
  lateApprovals: number;
}

export interface EndOfDayTerminalRow extends EndOfDayFigures {
  storeId: string;
  terminalId: string;
}

export interface EndOfDayStoreRow extends EndOfDayFigures {
  storeId: string;
}

export interface EndOfDayReport {
  /** Period [from, to) in epoch ms. */
  from: number;
  to: number;
  terminals: EndOfDayTerminalRow[];
  stores: EndOfDayStoreRow[];
  /** One row per currency (stores of different merchants may trade in different currencies). */
  totals: EndOfDayFigures[];
}

type Key = { storeId: string; terminalId: string; currency: string };
const FIGURES = ['approvedCount', 'approvedMinor', 'declinedCount', 'cancelledCount', 'expiredCount', 'failedCount', 'reversedCount', 'openCount', 'refundsCount', 'refundedMinor', 'lateApprovals'] as const;

const empty = (currency: string): EndOfDayFigures => ({ currency, ...(Object.fromEntries(FIGURES.map((f) => [f, 0])) as Omit<EndOfDayFigures, 'currency'>) });

function add(into: EndOfDayFigures, from: Partial<EndOfDayFigures>): void {
  for (const f of FIGURES) into[f] += from[f] ?? 0;
}

/**
 * The end-of-day figures of a period, per terminal, per store and per currency: payments
 * created in the period by outcome, refunds settled in it, and late approvals flagged in it.
 * Pure SQL over the daemon's tables; safe against a live database (one read transaction).
 * @example endOfDayReport(db, { from: new Date(2026, 2, 1).getTime(), to: new Date(2026, 2, 2).getTime() })
 */
export function endOfDayReport(db: Db, period: { from: number; to: number }): EndOfDayReport {
  const s = {
    payments: db.prepare(`SELECT store_id AS storeId, terminal_id AS terminalId, currency,
        sum(state IN ('approved','partially_refunded','refunded')) AS approvedCount,
        coalesce(sum(CASE WHEN state IN ('approved','partially_refunded','refunded') THEN coalesce(approved_minor, amount_minor) END), 0) AS approvedMinor,
        sum(state = 'declined') AS declinedCount, sum(state = 'cancelled') AS cancelledCount,
        sum(state = 'expired') AS expiredCount, sum(state = 'failed') AS failedCount, sum(state = 'reversed') AS reversedCount,
        sum(state IN ('created','awaiting_customer')) AS openCount
      FROM payments WHERE created_at >= @from AND created_at < @to
      GROUP BY store_id, terminal_id, currency`),
    refunds: db.prepare(`SELECT p.store_id AS storeId, p.terminal_id AS terminalId, p.currency,
        count(*) AS refundsCount, sum(r.amount_minor) AS refundedMinor
      FROM refunds r JOIN payments p ON p.id = r.payment_id
      WHERE r.state = 'succeeded' AND r.updated_at >= @from AND r.updated_at < @to
      GROUP BY p.store_id, p.terminal_id, p.currency`),
    lateApprovals: db.prepare(`SELECT p.store_id AS storeId, p.terminal_id AS terminalId, p.currency,
        count(DISTINCT e.payment_id) AS lateApprovals
      FROM payment_events e JOIN payments p ON p.id = e.payment_id
      WHERE e.kind = 'state_changed' AND json_extract(e.detail, '$.attention') = 'late_approval' -- the WHERE of payment_events_late_approval
        AND e.at >= @from AND e.at < @to
      GROUP BY p.store_id, p.terminal_id, p.currency`),
  };
  const rows = readSnapshot(db, () => [
    ...(s.payments.all(period) as EndOfDayRow[]),
    ...(s.refunds.all(period) as EndOfDayRow[]),
    ...(s.lateApprovals.all(period) as EndOfDayRow[]),
  ]);
  return assembleEndOfDay(period, rows);
}

/** Some of the figures of one terminal in one currency, as each of the report's queries answers them. */
export type EndOfDayRow = Key & Partial<EndOfDayFigures>;

/**
 * The report from its queries' rows (whichever database answered them): per terminal, per store
 * and per currency, sorted.
 * @example assembleEndOfDay({ from, to }, [{ storeId: 'S1', terminalId: 'T1', currency: 'NZD', approvedCount: 2, approvedMinor: 3550 }])
 */
export function assembleEndOfDay(period: { from: number; to: number }, rows: readonly EndOfDayRow[]): EndOfDayReport {
  const terminals = new Map<string, EndOfDayTerminalRow>();
  const stores = new Map<string, EndOfDayStoreRow>();
  const totals = new Map<string, EndOfDayFigures>();
  for (const row of rows) {
    const { storeId, terminalId, currency } = row;
    const tKey = JSON.stringify([storeId, terminalId, currency]);
    const sKey = JSON.stringify([storeId, currency]);
    if (!terminals.has(tKey)) terminals.set(tKey, { storeId, terminalId, ...empty(currency) });
    if (!stores.has(sKey)) stores.set(sKey, { storeId, ...empty(currency) });
    if (!totals.has(currency)) totals.set(currency, empty(currency));
    for (const target of [terminals.get(tKey), stores.get(sKey), totals.get(currency)]) add(target as EndOfDayFigures, row);
  }
  const byKeys = (a: { storeId: string; terminalId?: string; currency: string }, b: typeof a) =>
    a.storeId.localeCompare(b.storeId) || (a.terminalId ?? '').localeCompare(b.terminalId ?? '') || a.currency.localeCompare(b.currency);
  return {
    from: period.from,
    to: period.to,
    terminals: [...terminals.values()].sort(byKeys),
    stores: [...stores.values()].sort(byKeys),
    totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
  };
}

export { reportCsv, writeReportFile } from './report-csv.js';
