import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDayBounds } from '../../src/cli/dates.js';
import { createElectrumRepository } from '../../src/electrum/repository.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { sqliteStore } from '../../src/storage/sqlite-store.js';
import { immediateCommit } from '../../src/shared/db/group-commit.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { seedEndOfDay } from '../support/end-of-day-seed.js';
import { endOfDayReport, reportCsv, writeReportFile, type EndOfDayReport } from '../../src/reports/end-of-day.js';
import { migrate, openDatabase, type Db } from '../../src/shared/db/open.js';
import { baseConfig, runTb, tempDir, writeConfig } from '../cli/support.js';

const DAY = '2026-03-10';
const { from, to } = localDayBounds(DAY);

let dir: string;
let db: Db;
let config: string;

/** Minimal CSV reader for the report (csv-stringify quotes only when needed). */
function parseCsv(text: string): Array<Record<string, string>> {
  const lines = text.trimEnd().split('\n').map((l) => l.split(','));
  const [head, ...rows] = lines as [string[], ...string[][]];
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

beforeAll(async () => {
  dir = tempDir();
  config = writeConfig(dir, baseConfig(dir));
  db = openDatabase(join(dir, 'tb.db'));
  migrate(db);
  await seedEndOfDay(sqliteStore(immediateCommit(db), { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) }), from, to);
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('endOfDayReport', () => {
  let report: EndOfDayReport;
  beforeAll(() => {
    report = endOfDayReport(db, { from, to });
  });

  it('totals each terminal: payments created that day by outcome, refunds settled that day, late approvals', () => {
    expect(report.terminals.map((t) => t.terminalId)).toEqual(['T1', 'T2', 'T3']);
    expect(report.terminals[0]).toMatchObject({ storeId: 'S1', terminalId: 'T1', currency: 'NZD', approvedCount: 2, approvedMinor: 3550, declinedCount: 1, cancelledCount: 1, expiredCount: 1, failedCount: 0, openCount: 0, refundsCount: 2, refundedMinor: 850, lateApprovals: 0 });
    expect(report.terminals[1]).toMatchObject({ storeId: 'S1', terminalId: 'T2', approvedCount: 1, approvedMinor: 700, cancelledCount: 1, failedCount: 1, openCount: 1, refundsCount: 1, refundedMinor: 1200, lateApprovals: 1 });
    expect(report.terminals[2]).toMatchObject({ storeId: 'S2', terminalId: 'T3', approvedCount: 1, approvedMinor: 999, refundsCount: 0, lateApprovals: 0 });
  });

  it('totals each store and the whole day per currency', () => {
    expect(report.stores).toEqual([
      { storeId: 'S1', currency: 'NZD', approvedCount: 3, approvedMinor: 4250, declinedCount: 1, cancelledCount: 2, expiredCount: 1, failedCount: 1, reversedCount: 0, openCount: 1, refundsCount: 3, refundedMinor: 2050, lateApprovals: 1 },
      expect.objectContaining({ storeId: 'S2', approvedCount: 1, approvedMinor: 999 }),
    ]);
    expect(report.totals).toEqual([expect.objectContaining({ currency: 'NZD', approvedCount: 4, approvedMinor: 5249, declinedCount: 1, cancelledCount: 2, refundsCount: 3, refundedMinor: 2050, lateApprovals: 1 })]);
  });

  it('is empty for a day without activity', () => {
    const empty = endOfDayReport(db, localDayBounds('2026-01-01'));
    expect(empty).toMatchObject({ terminals: [], stores: [], totals: [] });
  });

  it('writes CSV with decimal amounts, one line per terminal, store and total', () => {
    const rows = parseCsv(reportCsv(report));
    expect(rows).toHaveLength(3 + 2 + 1);
    expect(rows[0]).toMatchObject({ level: 'terminal', store: 'S1', terminal: 'T1', approved_count: '2', approved_amount: '35.50', refunds_amount: '8.50' });
    expect(rows.at(-1)).toMatchObject({ level: 'total', currency: 'NZD', approved_amount: '52.49', refunds_count: '3', late_approvals: '1' });
  });

  it('writes ids that would start a spreadsheet formula with a leading quote, and negative amounts as plain numbers', () => {
    const [total] = report.totals;
    if (!total) throw new Error('the seeded report has a total');
    const figures = { ...total, approvedMinor: -500, refundedMinor: -1 };
    const hostile: EndOfDayReport = { ...report, terminals: [{ ...figures, storeId: '@S1', terminalId: '=T1' }], stores: [{ ...figures, storeId: '+S1' }], totals: [figures] };
    const rows = parseCsv(reportCsv(hostile));
    expect(rows[0]).toMatchObject({ level: 'terminal', store: "'@S1", terminal: "'=T1", approved_amount: '-5.00', refunds_amount: '-0.01', approved_count: String(total.approvedCount) });
    expect(rows[1]).toMatchObject({ level: 'store', store: "'+S1", approved_amount: '-5.00' });
    expect(rows[2]).toMatchObject({ level: 'total', store: '', approved_amount: '-5.00', refunds_amount: '-0.01' });
  });

  it('writes report-YYYY-MM-DD.csv atomically, replacing an earlier run, leaving no temporary file', () => {
    const out = join(dir, 'reports');
    writeReportFile(out, DAY, endOfDayReport(db, localDayBounds('2026-01-01')));
    const path = writeReportFile(out, DAY, report);
    expect(path).toBe(join(out, `report-${DAY}.csv`));
    expect(readFileSync(path, 'utf8')).toBe(reportCsv(report));
    expect(readdirSync(out)).toEqual([`report-${DAY}.csv`]);
    expect(() => writeReportFile(out, '10/03/2026', report)).toThrow(/YYYY-MM-DD/);
  });
});

describe('tenderbridge report', () => {
  it('prints tables per terminal, per store and the total', async () => {
    const run = await runTb(['report', '--date', DAY, '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`End of day ${DAY}`);
    expect(run.stdout).toMatch(/S1 +│ T1 +│ 2 +│ NZD 35\.50/);
    expect(run.stdout).toMatch(/NZD +│ 4 +│ NZD 52\.49/);
  });

  it('writes CSV that parses, and JSON that matches the computation', async () => {
    const csv = await runTb(['report', '--date', DAY, '--csv', '--config', config]);
    expect(csv.code).toBe(0);
    expect(parseCsv(csv.stdout).find((r) => r.level === 'store' && r.store === 'S2')).toMatchObject({ approved_count: '1', approved_amount: '9.99' });
    const json = await runTb(['report', '--date', DAY, '--json', '--config', config]);
    expect(json.json()).toEqual(JSON.parse(JSON.stringify({ date: DAY, ...endOfDayReport(db, { from, to }) })));
  });

  it('refuses a malformed date as a usage error', async () => {
    const run = await runTb(['report', '--date', '2026-02-30', '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not a calendar date');
  });
});
