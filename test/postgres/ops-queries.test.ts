import { afterAll, beforeAll, expect, it } from 'vitest';
import { localDayBounds } from '../../src/cli/dates.js';
import { createElectrumRepository } from '../../src/electrum/repository.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { sqliteFigures, type StoredFigures } from '../../src/ops/metrics.js';
import { purgeExpiredData } from '../../src/jobs/purge.js';
import { endOfDayReport } from '../../src/reports/end-of-day.js';
import { immediateCommit } from '../../src/shared/db/group-commit.js';
import { migrate, openDatabase } from '../../src/shared/db/open.js';
import { migratePostgres } from '../../src/shared/db/postgres/migrate.js';
import { createPostgresPool, type PgPool } from '../../src/shared/db/postgres/pool.js';
import { pgFigures } from '../../src/storage/postgres/figures.js';
import { pgPurgeExpiredData } from '../../src/storage/postgres/purge.js';
import { postgresStore } from '../../src/storage/postgres/store.js';
import type { Store } from '../../src/storage/port.js';
import { pgEndOfDayReport } from '../../src/storage/postgres/reports.js';
import { sqliteStore } from '../../src/storage/sqlite-store.js';
import { seedEndOfDay } from '../support/end-of-day-seed.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The end-of-day report, the metrics gauges and the purge on PostgreSQL: the same data seeded through
// the applier on both backends gives the same answers (the SQLite suites check SQLite's one by one).

describeWhenAvailable('the end-of-day report on PostgreSQL', [tools.postgres()], () => {
  let server: TestPostgres;
  let pool: PgPool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPostgresPool({ kind: 'postgres', url: await server.createDatabase(), pool: { max: 2, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
    await migratePostgres(pool, { appVersion: 'test' });
  }, 120_000);
  /** A pool on a fresh, migrated database of its own (the caller ends it). */
  async function migratedPool(): Promise<PgPool> {
    const created = createPostgresPool({ kind: 'postgres', url: await server.createDatabase(), pool: { max: 2, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
    await migratePostgres(created, { appVersion: 'test' });
    return created;
  }
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('reports the same day as SQLite does, figure for figure', async () => {
    const { from, to } = localDayBounds('2026-03-10');
    const db = openDatabase(':memory:');
    migrate(db);
    await seedEndOfDay(sqliteStore(immediateCommit(db), { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) }), from, to);
    await seedEndOfDay(postgresStore(pool), from, to);
    const expected = endOfDayReport(db, { from, to });
    db.close();
    const got = await pgEndOfDayReport(pool, { from, to });
    expect(got).toEqual(expected);
    // Not vacuous: the day has terminals in two stores, a refund and a late approval.
    expect(expected.stores.map((s) => s.storeId)).toEqual(['S1', 'S2']);
    expect(expected.totals[0]?.refundedMinor).toBeGreaterThan(0);
    expect(expected.totals[0]?.lateApprovals).toBe(1);
  });

  it("gives the metrics gauges the same figures as SQLite's", async () => {
    const { from, to } = localDayBounds('2026-03-11');
    const db = openDatabase(':memory:');
    migrate(db);
    const other = await migratedPool();
    const seed = async (store: Store) => {
      await seedEndOfDay(store, from, to);
      const [p] = await store.repos.payments.list({ limit: 1 });
      const dead = await store.repos.outbox.enqueue('upstream.refund', p!.id, { refundId: 'r' }, from + 5);
      await store.repos.outbox.enqueue('webhook', p!.id, { seq: 1 }, from + 7);
      await store.repos.outbox.markDead(dead, 'gave up', from + 9);
    };
    await seed(sqliteStore(immediateCommit(db), { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) }));
    await seed(postgresStore(other));
    const read = async (figures: StoredFigures) => ({
      byState: (await figures.paymentsByState()).sort((a, b) => `${a.provider}${a.state}`.localeCompare(`${b.provider}${b.state}`)),
      attention: await figures.attention(),
      outbox: (await figures.outbox()).sort((a, b) => a.state.localeCompare(b.state)),
    });
    const expected = await read(sqliteFigures(db));
    db.close();
    expect(await read(pgFigures(other))).toEqual(expected);
    await other.end();
    expect(expected.byState.reduce((n, r) => n + r.n, 0)).toBe(12);
    expect(expected.attention).toBe(1);
    // One dead letter, and pending rows: the webhook above and the cancels the seeded day owes.
    expect(expected.outbox.map((r) => r.state)).toEqual(['dead', 'pending']);
    expect(expected.outbox[0]?.n).toBe(1);
  });

  it('purges what SQLite purges of the same data, and keeps what it keeps', async () => {
    const { from, to } = localDayBounds('2025-01-10');
    const now = to + 30 * 86_400_000;
    const settings = { paymentDays: 20, otherDays: 10, idempotencyKeyHours: 48 };
    const db = openDatabase(':memory:');
    migrate(db);
    const other = await migratedPool();
    const seed = async (store: Store) => {
      await seedEndOfDay(store, from, to);
      const [p] = await store.repos.payments.list({ state: 'approved', limit: 1 });
      await store.repos.payments.saveIdempotency('terminal:T1', 'old', 'h', p!.id, from);
      await store.repos.payments.saveIdempotency('terminal:T1', 'fresh', 'h', p!.id, now - 3_600_000);
      await store.repos.payments.journal({ paymentId: null, at: from, kind: 'orphan_callback', actor: 'partpay' });
      await store.repos.payments.journal({ paymentId: null, at: now - 1_000, kind: 'orphan_callback', actor: 'partpay' });
      const done = await store.repos.outbox.enqueue('webhook', null, { seq: 1 }, from);
      await store.repos.outbox.markDone(done, from + 1);
      for (const [sender, id, at] of [['pos:a', 'm-old', from], ['pos:a', 'm-new', now - 1_000]] as const) {
        await store.repos.electrum.insertMessage({ sender, id, kind: 'pay', requestHash: 'h', relatedId: null, responseStatus: null, responseBody: null, createdAt: at });
      }
      await store.repos.electrum.insertQr({ tranId: 'tr-old', requestId: 'q', clientId: 'pos', terminalId: 'T1', provider: 'electrum', scheme: 'EMVCO_MERCHANT', qrCode: 'x', amountMinor: 1, currency: '554', paymentId: null, responseBody: '{}', createdAt: from, expiresAt: from + 60_000 });
    };
    await seed(sqliteStore(immediateCommit(db), { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) }));
    await seed(postgresStore(other));
    const { batches: _sqliteBatches, ...expected } = await purgeExpiredData(db, now, settings, { batchSize: 3 });
    const { batches, ...got } = await pgPurgeExpiredData(other, now, settings, { batchSize: 3 });
    expect(got).toEqual(expected);
    expect(batches).toBeGreaterThan(4); // several batches of 3
    const kept = (rows: Array<{ id: string }>) => rows.map((r) => r.id).sort();
    const sqliteKept = kept(db.prepare('SELECT id FROM payments').all() as Array<{ id: string }>);
    expect(kept((await other.query<{ id: string }>('SELECT id FROM payments')).rows)).toEqual(sqliteKept);
    db.close();
    await other.end();
    // Not vacuous: settled payments went, open, flagged and owed ones stayed, and each other kind lost its old rows.
    expect(expected.payments).toBeGreaterThan(0);
    expect(sqliteKept.length).toBeGreaterThan(0);
    expect([expected.electrumMessages, expected.outbox]).toEqual([1, 1]);
    expect(expected.events).toBeGreaterThan(1);
  });
});
