import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localDayBounds } from '../../src/cli/dates.js';
import { createElectrumRepository } from '../../src/electrum/repository.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { endOfDayReport } from '../../src/reports/end-of-day.js';
import { startReportThread, type ReportThread } from '../../src/reports/report-thread.js';
import { immediateCommit } from '../../src/shared/db/group-commit.js';
import { migrate, openDatabase, type Db } from '../../src/shared/db/open.js';
import { sqliteStore } from '../../src/storage/sqlite-store.js';
import { seedEndOfDay } from '../support/end-of-day-seed.js';
import { eventually } from '../support/harness.js';

// The daemon's end-of-day report (the nightly job, the console's overview and report pages) is
// read on a thread with its own connection: the same figures, never the event loop's time.

const { from, to } = localDayBounds('2026-03-10');
let dir: string;
let db: Db;
const threads: ReportThread[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-report-thread-'));
  db = openDatabase(join(dir, 'tb.db'));
  migrate(db);
  await seedEndOfDay(sqliteStore(immediateCommit(db), { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) }), from, to);
});
afterEach(async () => {
  for (const t of threads.splice(0)) await t.close();
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function thread(options: Parameters<typeof startReportThread>[1] = {}): ReportThread {
  const t = startReportThread(db, options);
  threads.push(t);
  return t;
}

const insertLater = (id: string): void => {
  db.prepare(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at)
    VALUES (?, 'partpay', 'T9', 'S9', 'm1', ?, 4321, 'NZD', 'approved', ?, ?, ?)`).run(id, id, from + 3_600_000, from + 3_600_000, from + 4_000_000);
};

describe('the report thread', () => {
  it("answers what the daemon's own connection answers, on a connection of its own that sees each commit and nothing uncommitted", async () => {
    const errors: Error[] = [];
    const reports = thread({ onError: (e) => errors.push(e) });
    expect(reports.running).toBe(false);
    const first = await reports.report({ from, to });
    expect(reports.running).toBe(true);
    expect(first).toEqual(endOfDayReport(db, { from, to }));
    expect(first.totals).toEqual([expect.objectContaining({ currency: 'NZD', approvedCount: 4, approvedMinor: 5249, refundedMinor: 2050 })]);
    // A write still inside the daemon's transaction is not in the thread's snapshot; once committed, it is.
    db.exec('BEGIN IMMEDIATE');
    insertLater('late-1');
    expect(endOfDayReport(db, { from, to }).totals[0]?.approvedCount).toBe(5);
    const during = await reports.report({ from, to });
    expect(during.totals[0]?.approvedCount).toBe(4);
    db.exec('COMMIT');
    const after = await reports.report({ from, to });
    expect(after.totals[0]).toMatchObject({ approvedCount: 5, approvedMinor: 5249 + 4321 });
    expect(after.stores.map((s) => s.storeId)).toEqual(['S1', 'S2', 'S9']);
    expect(errors).toEqual([]);
    db.prepare('DELETE FROM payments WHERE id = ?').run('late-1');
  });

  it('ends its thread when idle and starts another for the next report', async () => {
    const errors: Error[] = [];
    const reports = thread({ idleMs: 20, onError: (e) => errors.push(e) });
    await reports.report({ from, to });
    expect(reports.running).toBe(true);
    await eventually(() => !reports.running, 5_000);
    expect((await reports.report({ from, to })).totals[0]?.approvedCount).toBe(4);
    await eventually(() => !reports.running, 5_000);
    // The first thread's end, after its idle close, is not taken for the second one failing.
    expect(errors).toEqual([]);
  });

  it('answers several reports asked at once, each for its own period', async () => {
    const reports = thread();
    const other = localDayBounds('2026-03-11');
    const [day, next, again] = await Promise.all([reports.report({ from, to }), reports.report(other), reports.report({ from, to })]);
    expect(day).toEqual(endOfDayReport(db, { from, to }));
    expect(next).toEqual(endOfDayReport(db, other));
    expect(again).toEqual(day);
  });

  it("reads on the daemon's connection when its thread cannot run, says so once, and loses no report", async () => {
    const errors: Error[] = [];
    const reports = thread({ entry: new URL(`data:text/javascript,${encodeURIComponent("throw new Error('no thread here')")}`), onError: (e) => errors.push(e) });
    expect(await reports.report({ from, to })).toEqual(endOfDayReport(db, { from, to }));
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('no thread here')]);
    expect(await reports.report({ from, to })).toEqual(endOfDayReport(db, { from, to }));
    expect(errors).toHaveLength(1);
  });

  it("reads on the daemon's connection when no thread can be made at all", async () => {
    const errors: Error[] = [];
    // A worker entry Node refuses outright (not a file, a data: or a file URL): the constructor throws.
    const reports = thread({ entry: new URL('https://example.invalid/report-worker.js'), onError: (e) => errors.push(e) });
    expect(await reports.report({ from, to })).toEqual(endOfDayReport(db, { from, to }));
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('could not start')]);
    expect(reports.running).toBe(false);
  });

  it("reads on the daemon's connection when the thread cannot open the file", async () => {
    const errors: Error[] = [];
    const elsewhere = openDatabase(join(dir, 'other.db'));
    migrate(elsewhere);
    const broken = startReportThread(elsewhere, { onError: (e) => errors.push(e) });
    threads.push(broken);
    rmSync(join(dir, 'other.db'));
    expect((await broken.report({ from, to })).terminals).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('the report thread failed')]);
    elsewhere.close();
  });

  it('answers a report under way before it closes, and reads here after', async () => {
    const reports = thread();
    const under = reports.report({ from, to });
    await reports.close();
    expect((await under).totals[0]?.approvedCount).toBe(4);
    expect(reports.running).toBe(false);
    expect((await reports.report({ from, to })).totals[0]?.approvedCount).toBe(4);
  });
});
