import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillDatabase } from '../../scripts/bench/fill-db.js';
import { purgeExpiredData } from '../../src/jobs/purge.js';
import { PAYMENTS_BY_STATE_SQL } from '../../src/ops/metrics.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { endOfDayReport } from '../../src/reports/end-of-day.js';
import { openDatabase, type Db } from '../../src/shared/db/open.js';

// A month of a store's payments, as the benchmark's generator writes a year of them: the
// queries below must find their rows through indexes, so their cost stays flat as the file grows.
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1, 12);
let dir: string;
let path: string;
let filled: ReturnType<typeof fillDatabase>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tb-big-file-'));
  path = join(dir, 'month.db');
  filled = fillDatabase(path, { payments: 3000, days: 30, now: NOW, terminals: ['TERM0001', 'TERM0002', 'TERM0003'], storeId: 'STORE001', otherDays: 10, idempotencyKeyHours: 24 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` on a connection that records every statement it prepares, and returns their query plans. */
function plansOf(db: Db, fn: () => unknown): Array<{ sql: string; plan: string }> {
  const seen: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    seen.push(sql);
    return prepare(sql);
  }) as Db['prepare'];
  try {
    fn();
  } finally {
    db.prepare = prepare;
  }
  return seen
    .filter((sql) => /^\s*(SELECT|DELETE)/i.test(sql))
    .map((sql) => {
      const params = (sql.match(/\?/g) ?? []).map(() => 0);
      const named = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((m) => [m[1], 0]));
      const statement = prepare(`EXPLAIN QUERY PLAN ${sql}`);
      const rows = (Object.keys(named).length > 0 ? statement.all(named) : statement.all(...params)) as Array<{ detail: string }>;
      return { sql, plan: rows.map((r) => r.detail).join('; ') };
    });
}

/** A full scan of one of the tables that grow with every payment. */
const SCANS_BIG_TABLE = /\bSCAN (payments|payment_events|refunds|outbox|electrum_messages|electrum_payments|electrum_qr_codes)\b(?! USING)/;

describe('a big file: every query of the report, the console and the jobs goes through an index', () => {
  it('the generator wrote a month of payments with their journal, refunds and Electrum records', () => {
    expect(filled.payments).toBe(3000);
    expect(filled.events).toBeGreaterThan(5 * 3000);
    expect(filled.refunds).toBeGreaterThan(0);
    expect(filled.electrum).toBeGreaterThan(100);
  });

  it('the end-of-day report, the console lists and the overview counts scan no big table', () => {
    const db = openDatabase(path);
    try {
      const payments = createPaymentRepository(db);
      const plans = plansOf(db, () => {
        endOfDayReport(db, { from: NOW - DAY, to: NOW });
        payments.list({ limit: 50 });
        payments.list({ limit: 50, from: NOW - 7 * DAY, to: NOW });
        payments.counts();
      });
      expect(plans.length).toBeGreaterThanOrEqual(5);
      for (const { sql, plan } of plans) expect(plan, sql).not.toMatch(SCANS_BIG_TABLE);
      expect(plans.map((p) => p.plan).join('\n')).toMatch(/payments_created/);
      expect(plans.map((p) => p.plan).join('\n')).toMatch(/payment_events_late_approval/);
    } finally {
      db.close();
    }
  });

  it('the overview counts open payments and those waiting for an operator across the whole file', () => {
    const db = openDatabase(path);
    try {
      const expected = db.prepare("SELECT sum(state IN ('created','awaiting_customer')) AS open, sum(attention IS NOT NULL) AS attention FROM payments").get() as { open: number; attention: number };
      expect(createPaymentRepository(db).counts()).toEqual(expected);
      expect(expected.open).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('the purge deletes in small transactions, pausing between them, through indexes only', async () => {
    const copy = join(dir, 'purge.db');
    fillDatabase(copy, { payments: 3000, days: 30, now: NOW, terminals: ['TERM0001'], storeId: 'STORE001', otherDays: 10, idempotencyKeyHours: 24 });
    const db = openDatabase(copy);
    try {
      const before = NOW - 10 * DAY;
      // One old payment waits for an operator and another still owes a delivery: both stay.
      const [flagged, owing] = db.prepare('SELECT id FROM payments WHERE final_at < ? ORDER BY final_at LIMIT 2').pluck().all(before) as string[];
      db.prepare("UPDATE payments SET attention = 'late_approval' WHERE id = ?").run(flagged);
      db.prepare("INSERT INTO outbox (kind, payment_id, payload, next_attempt_at, created_at, updated_at) VALUES ('upstream.refund', ?, '{}', 0, 0, 0)").run(owing);
      const old = (db.prepare('SELECT count(*) FROM payments WHERE final_at IS NOT NULL AND final_at < ?').pluck().get(before) as number) - 2;
      const total = db.prepare('SELECT count(*) FROM payments').pluck().get() as number;
      let pauses = 0;
      let statements: Array<{ sql: string; plan: string }> = [];
      const run = purgeExpiredData(db, NOW, { paymentDays: 10, otherDays: 10, idempotencyKeyHours: 24 }, { batchSize: 40, batchMs: 0.000_001, pause: async () => void (pauses += 1) });
      const result = await run;
      statements = plansOf(db, () => void purgeExpiredData(db, NOW, { paymentDays: 10, otherDays: 10, idempotencyKeyHours: 24 }));
      expect(result.payments).toBe(old);
      expect(old).toBeGreaterThan(1000);
      // 40 payments in the first transaction, then fewer: batches shrink to fit batchMs (tiny here)
      expect(result.batches).toBeGreaterThanOrEqual(Math.ceil(old / 40));
      expect(pauses).toBeGreaterThanOrEqual(Math.floor(old / 40));
      expect(db.prepare('SELECT count(*) FROM payments').pluck().get()).toBe(total - old);
      expect(db.prepare('SELECT count(*) FROM payments WHERE id IN (?, ?)').pluck().get(flagged, owing)).toBe(2);
      // nothing of a purged payment is left behind
      for (const table of ['payment_events', 'refunds', 'electrum_payments', 'electrum_qr_codes', 'idempotency_keys']) {
        expect(db.prepare(`SELECT count(*) FROM ${table} WHERE payment_id IS NOT NULL AND payment_id NOT IN (SELECT id FROM payments)`).pluck().get(), table).toBe(0);
      }
      expect(db.prepare("SELECT count(*) FROM outbox WHERE state = 'done' AND updated_at < ?").pluck().get(before)).toBe(0);
      expect(db.prepare('SELECT count(*) FROM electrum_messages WHERE created_at < ?').pluck().get(before)).toBe(0);
      // the metrics' per-state counts, kept by triggers, still agree with the table
      const counted = db.prepare('SELECT provider, state, count(*) AS n FROM payments GROUP BY provider, state ORDER BY provider, state').all();
      expect(db.prepare(PAYMENTS_BY_STATE_SQL).all()).toEqual(counted);
      expect(statements.length).toBeGreaterThan(5);
      for (const { sql, plan } of statements) expect(plan, sql).not.toMatch(SCANS_BIG_TABLE);
    } finally {
      db.close();
    }
  });
});
