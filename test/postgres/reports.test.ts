import { afterAll, beforeAll, expect, it } from 'vitest';
import { localDayBounds } from '../../src/cli/dates.js';
import { createElectrumRepository } from '../../src/electrum/repository.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { sqliteFigures, type StoredFigures } from '../../src/ops/metrics.js';
import { endOfDayReport } from '../../src/reports/end-of-day.js';
import { immediateCommit } from '../../src/shared/db/group-commit.js';
import { migrate, openDatabase } from '../../src/shared/db/open.js';
import { migratePostgres } from '../../src/shared/db/postgres/migrate.js';
import { createPostgresPool, type PgPool } from '../../src/shared/db/postgres/pool.js';
import { pgFigures } from '../../src/storage/postgres/figures.js';
import { postgresStore } from '../../src/storage/postgres/store.js';
import type { Store } from '../../src/storage/port.js';
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

  it("gives the metrics gauges the same figures as SQLite's", async () => {
    const { from, to } = localDayBounds('2026-03-11');
    const db = openDatabase(':memory:');
    migrate(db);
    const url = await server.createDatabase();
    const other = createPostgresPool({ kind: 'postgres', url, pool: { max: 2, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
    await migratePostgres(other, { appVersion: 'test' });
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
});
