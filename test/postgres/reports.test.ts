import { afterAll, beforeAll, expect, it } from 'vitest';
import { localDayBounds } from '../../src/cli/dates.js';
import { createElectrumRepository } from '../../src/electrum/repository.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { endOfDayReport } from '../../src/reports/end-of-day.js';
import { immediateCommit } from '../../src/shared/db/group-commit.js';
import { migrate, openDatabase } from '../../src/shared/db/open.js';
import { migratePostgres } from '../../src/shared/db/postgres/migrate.js';
import { createPostgresPool, type PgPool } from '../../src/shared/db/postgres/pool.js';
import { postgresStore } from '../../src/storage/postgres/store.js';
import { pgEndOfDayReport } from '../../src/storage/postgres/reports.js';
import { sqliteStore } from '../../src/storage/sqlite-store.js';
import { seedEndOfDay } from '../support/end-of-day-seed.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The end-of-day report on PostgreSQL: the same day seeded through the applier on both backends
// gives the same report (test/reports/end-of-day.test.ts checks SQLite's figures one by one).

describeWhenAvailable('the end-of-day report on PostgreSQL', [tools.postgres()], () => {
  let server: TestPostgres;
  let pool: PgPool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPostgresPool({ kind: 'postgres', url: await server.createDatabase(), pool: { max: 2, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
    await migratePostgres(pool, { appVersion: 'test' });
  }, 120_000);
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
});
