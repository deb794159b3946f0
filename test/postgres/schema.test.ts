import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probePostgresDatabase, probePostgresWrite } from '../../src/ops/readiness-postgres.js';
import type { PostgresDatabaseConfig } from '../../src/shared/config/database-schema.js';
import { DatabaseError, LATEST_VERSION, migrate, openDatabase, type Db } from '../../src/shared/db/open.js';
import { migratePostgres, postgresSchemaVersion, postgresWrittenBy } from '../../src/shared/db/postgres/migrate.js';
import { PAYMENT_COUNT_STRIPES, POSTGRES_LATEST_VERSION, POSTGRES_MIGRATIONS } from '../../src/shared/db/postgres/migrations.js';
import { PAYMENTS_BY_STATE_SQL } from '../../src/ops/metrics.js';
import { createPostgresPool, parseBigint, type PgPool } from '../../src/shared/db/postgres/pool.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { postgresShape, sqliteShape } from '../support/schema-shape.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// PostgreSQL's schema and migrations against a real server this file starts: the same schema as
// SQLite's latest, migrations that apply once even when two run at the same moment, the
// constraints the money paths rely on, and the payment counts kept by triggers.

const config = (url: string, pool: Partial<PostgresDatabaseConfig['pool']> = {}): PostgresDatabaseConfig => ({
  kind: 'postgres',
  url,
  pool: { max: 4, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000, ...pool },
});

describeWhenAvailable('PostgreSQL schema and migrations', [tools.postgres()], () => {
  let server: TestPostgres;
  const pools: PgPool[] = [];
  const sqlite: Db[] = [];
  /** A pool on a fresh, empty database. */
  async function freshPool(pool: Partial<PostgresDatabaseConfig['pool']> = {}, url?: string): Promise<PgPool> {
    const created = createPostgresPool(config(url ?? (await server.createDatabase()), pool));
    pools.push(created);
    return created;
  }
  async function migratedPool(): Promise<PgPool> {
    const pool = await freshPool();
    await migratePostgres(pool, { appVersion: 'test' });
    return pool;
  }
  function migratedSqlite(): Db {
    const db = openDatabase(':memory:');
    migrate(db);
    sqlite.push(db);
    return db;
  }
  async function sqlstate(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      return String((error as { code?: unknown }).code);
    }
    throw new Error('the statement succeeded');
  }

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const pool of pools) await pool.end();
    for (const db of sqlite) db.close();
    await server?.stop();
  });

  it('migrates an empty database to the version SQLite is at, recording which build did it, and a second run applies nothing', async () => {
    const pool = await freshPool();
    expect(POSTGRES_LATEST_VERSION).toBe(LATEST_VERSION);
    expect(await postgresSchemaVersion(pool)).toBe(0);
    const first = await migratePostgres(pool, { appVersion: '9.9.9', now: () => 1_764_633_600_000 });
    expect(first).toEqual({ from: 0, applied: POSTGRES_MIGRATIONS.map((m) => m.version), version: LATEST_VERSION });
    expect(await postgresWrittenBy(pool)).toBe('9.9.9');
    expect((await pool.query('SELECT version, app_version, applied_at FROM schema_history')).rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, app_version: '9.9.9', applied_at: 1_764_633_600_000 })));
    expect(await migratePostgres(pool, { appVersion: '9.9.10' })).toEqual({ from: LATEST_VERSION, applied: [], version: LATEST_VERSION });
    expect(await postgresWrittenBy(pool)).toBe('9.9.9');
  });

  it('applies the migrations once when two migrators start at the same moment (the second waits for the lock, then finds them applied)', async () => {
    const url = await server.createDatabase();
    const a = await freshPool({}, url);
    const b = await freshPool({}, url);
    const results = await Promise.all([migratePostgres(a, { appVersion: 'a' }), migratePostgres(b, { appVersion: 'b' })]);
    expect(results.map((r) => r.applied).sort((x, y) => y.length - x.length)).toEqual([POSTGRES_MIGRATIONS.map((m) => m.version), []]);
    expect((await a.query('SELECT count(*) AS n FROM schema_history')).rows).toEqual([{ n: POSTGRES_MIGRATIONS.length }]);
  });

  it('has every table, column, key, constraint, index and trigger of SQLite\'s latest schema (a SQLite migration without its PostgreSQL twin fails here)', async () => {
    const pool = await migratedPool();
    const expected = sqliteShape(migratedSqlite());
    expect(Object.keys(expected)).toEqual(expect.arrayContaining(['payments', 'payment_counts', 'electrum_payments', 'schema_history']));
    expect(await postgresShape(pool)).toEqual(expected);
  });

  it('rolls a failed migration back whole: nothing of it is left, and the version is unchanged', async () => {
    const pool = await freshPool();
    const broken = [{ version: 7, name: 'broken', sql: 'CREATE TABLE half_done (x BIGINT); SELECT no_such_function()' }];
    await expect(migratePostgres(pool, { migrations: broken })).rejects.toThrow(/no_such_function/);
    expect((await pool.query("SELECT to_regclass('half_done') AS t")).rows).toEqual([{ t: null }]);
    expect(await postgresSchemaVersion(pool)).toBe(0);
  });

  it('refuses a database a newer build migrated, naming that build', async () => {
    const pool = await migratedPool();
    await pool.query("INSERT INTO schema_history (version, app_version, applied_at) VALUES (99, '7.0.0', 0)");
    const refused = migratePostgres(pool, { appVersion: '0.2.0' });
    await expect(refused).rejects.toBeInstanceOf(DatabaseError);
    await expect(migratePostgres(pool, { appVersion: '0.2.0' })).rejects.toThrow(`schema version 99, written by tenderbridge 7.0.0; this is tenderbridge 0.2.0, which knows schema versions up to ${LATEST_VERSION}. Install tenderbridge 7.0.0 or later`);
  });

  it('rejects duplicates of every unique key with SQLSTATE 23505, and broken rows with the CHECK, foreign-key and append-only errors', async () => {
    const pool = await migratedPool();
    const payment = (id: string, extra = '') =>
      `INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at${extra ? ', upstream_order_id' : ''}) VALUES ('${id}', 'partpay', 'T1', 'S1', 'm1', 'r', 100, 'NZD', 'created', 1, 1, 2${extra ? `, '${extra}'` : ''})`;
    await pool.query(payment('p1', 'order-1'));
    await pool.query(payment('p2'));
    expect(await sqlstate(pool.query(payment('p1')))).toBe('23505');
    expect(await sqlstate(pool.query(payment('p3', 'order-1')))).toBe('23505');
    const terminal = (id: string) => `INSERT INTO terminals (id, store_id, api_key_hash, display_profile, source, created_at, updated_at) VALUES ('${id}', 'S1', 'sha256:same', '{}', 'cli', 1, 1)`;
    await pool.query(terminal('T1'));
    expect(await sqlstate(pool.query(terminal('T2')))).toBe('23505');
    const key = "INSERT INTO idempotency_keys (scope, key, request_hash, payment_id, created_at) VALUES ('T1', 'k1', 'h', 'p1', 1)";
    await pool.query(key);
    expect(await sqlstate(pool.query(key))).toBe('23505');
    const message = (sender: string) => `INSERT INTO electrum_messages (sender, id, kind, request_hash, created_at) VALUES ('${sender}', 'msg-1', 'pay', 'h', 1)`;
    await pool.query(message('pos:c1'));
    await pool.query(message('pos:c2')); // an id is unique per sender only
    expect(await sqlstate(pool.query(message('pos:c1')))).toBe('23505');
    const pay = (client: string, request: string, paymentId: string, partnerRequest: string) =>
      `INSERT INTO electrum_payments (client_id, request_id, partner_request_id, payment_id, tran_id, request_body, created_at) VALUES ('${client}', '${request}', '${partnerRequest}', '${paymentId}', 'tran', '{}', 1)`;
    await pool.query(pay('c1', 'req-1', 'p1', 'preq-1'));
    expect(await sqlstate(pool.query(pay('c1', 'req-1', 'p2', 'preq-2')))).toBe('23505'); // (client, request id)
    expect(await sqlstate(pool.query(pay('c2', 'req-1', 'p1', 'preq-2')))).toBe('23505'); // one Electrum record per payment
    expect(await sqlstate(pool.query(pay('c2', 'req-1', 'p2', 'preq-1')))).toBe('23505'); // the id the partner knows
    await pool.query(pay('c2', 'req-1', 'p2', 'preq-2'));

    expect(await sqlstate(pool.query("UPDATE payments SET refunded_minor = 101 WHERE id = 'p1'"))).toBe('23514');
    expect(await sqlstate(pool.query(payment('p4').replace(', 100,', ', 0,')))).toBe('23514');
    expect(await sqlstate(pool.query("INSERT INTO refunds (id, payment_id, amount_minor, state, requested_by, created_at, updated_at) VALUES ('r1', 'nope', 1, 'pending', 'x', 1, 1)"))).toBe('23503');
    await pool.query("INSERT INTO payment_events (payment_id, at, kind, actor) VALUES ('p1', 1, 'created', 'terminal')");
    const update = pool.query("UPDATE payment_events SET kind = 'forged'");
    await expect(update).rejects.toThrow('payment_events is append-only');
  });

  it('keeps payment_counts equal to a GROUP BY of payments, and to what SQLite\'s triggers keep, through inserts, updates and deletes', async () => {
    const pool = await migratedPool();
    const db = migratedSqlite();
    const statements: string[] = [];
    const providers = ['partpay', 'electrum'];
    const states = ['created', 'pending', 'approved', 'declined', 'refunded'];
    for (let i = 0; i < 30; i++) {
      statements.push(
        `INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at) VALUES ('p${i}', '${providers[i % 2]}', 'T1', 'S1', 'm1', 'r${i}', 100, 'NZD', 'created', ${i}, ${i}, ${i + 1})`,
      );
    }
    for (let i = 0; i < 30; i += 3) statements.push(`UPDATE payments SET state = '${states[(i / 3) % states.length]}', version = version + 1 WHERE id = 'p${i}'`);
    statements.push("UPDATE payments SET attention = 'late_approval' WHERE id = 'p1'"); // neither provider nor state
    statements.push("UPDATE payments SET state = 'pending' WHERE id = 'p2'");
    statements.push("UPDATE payments SET state = 'pending' WHERE id = 'p2'"); // unchanged: no count moves
    statements.push("UPDATE payments SET provider = 'electrum' WHERE id = 'p4'");
    statements.push("UPDATE payments SET state = 'approved' WHERE provider = 'electrum' AND state = 'created'");
    statements.push("DELETE FROM payments WHERE id IN ('p5', 'p6', 'p9')");
    statements.push("DELETE FROM payments WHERE state = 'declined'");
    for (const sql of statements) {
      await pool.query(sql);
      db.exec(sql);
    }
    const counts = 'SELECT provider, state, CAST(sum(n) AS BIGINT) AS n FROM payment_counts GROUP BY provider, state ORDER BY provider, state';
    const grouped = 'SELECT provider, state, count(*) AS n FROM payments GROUP BY provider, state ORDER BY provider, state';
    const pgCounts = (await pool.query<{ provider: string; state: string; n: number }>(counts)).rows;
    expect(pgCounts.filter((r) => r.n !== 0)).toEqual((await pool.query(grouped)).rows);
    expect(pgCounts).toEqual(db.prepare(counts).all());
    expect(pgCounts.some((r) => r.n === 0)).toBe(true); // emptied rows stay at 0, as on SQLite
  });

  it('upgrades a version-7 database: every count kept (in stripe 0), and counted on from there', async () => {
    const pool = await freshPool();
    await migratePostgres(pool, { migrations: POSTGRES_MIGRATIONS.filter((m) => m.version <= 7) });
    const insert = (id: string, provider: string, state: string) =>
      pool.query(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at) VALUES ($1, $2, 'T1', 'S1', 'm1', 'R', 100, 'NZD', $3, 1, 1, 2)`, [id, provider, state]);
    await insert('a', 'partpay', 'approved');
    await insert('b', 'partpay', 'approved');
    await insert('c', 'electrum', 'created');
    expect((await migratePostgres(pool)).applied).toEqual(POSTGRES_MIGRATIONS.filter((m) => m.version > 7).map((m) => m.version));
    expect((await pool.query('SELECT provider, state, stripe, n FROM payment_counts ORDER BY provider, state')).rows).toEqual([
      { provider: 'electrum', state: 'created', stripe: 0, n: 1 },
      { provider: 'partpay', state: 'approved', stripe: 0, n: 2 },
    ]);
    await insert('d', 'electrum', 'created');
    await pool.query("UPDATE payments SET state = 'refunded' WHERE id = 'a'");
    await pool.query("DELETE FROM payments WHERE id = 'c'");
    const grouped = (await pool.query('SELECT provider, state, count(*)::bigint AS n FROM payments GROUP BY provider, state ORDER BY provider, state')).rows;
    expect((await pool.query(PAYMENTS_BY_STATE_SQL)).rows).toEqual(grouped);
  });

  it('lets two connections count payments of the same provider and state at once: neither waits for the other to commit', async () => {
    const url = await server.createDatabase();
    await migratePostgres(await freshPool({}, url), { appVersion: 'test' });
    // Two sessions on different stripes (the server process id modulo the stripes), as two daemons' transactions usually are.
    const clients: pg.Client[] = [];
    const stripes = new Set<number>();
    while (clients.length < 2) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      if (stripes.has(pid % PAYMENT_COUNT_STRIPES)) {
        await client.end();
        continue;
      }
      stripes.add(pid % PAYMENT_COUNT_STRIPES);
      clients.push(client);
    }
    const [a, b] = clients as [pg.Client, pg.Client];
    const insert = (c: pg.Client, id: string) =>
      c.query(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at) VALUES ($1, 'partpay', 'T1', 'S1', 'm1', 'R', 100, 'NZD', 'created', 1, 1, 2)`, [id]);
    try {
      await a.query('BEGIN');
      await insert(a, 'p1');
      await a.query("UPDATE payments SET state = 'awaiting_customer' WHERE id = 'p1'");
      // With one row per provider and state, B queued behind A's open transaction here until its lock timeout.
      await b.query("SET lock_timeout = '2s'");
      await insert(b, 'p2');
      await b.query("UPDATE payments SET state = 'awaiting_customer' WHERE id = 'p2'");
      await insert(b, 'p3');
      await a.query('COMMIT');
    } finally {
      for (const c of clients) await c.end();
    }
    const pool = await freshPool({}, url);
    expect((await pool.query(PAYMENTS_BY_STATE_SQL)).rows).toEqual([
      { provider: 'partpay', state: 'awaiting_customer', n: 2 },
      { provider: 'partpay', state: 'created', n: 1 },
    ]);
  });

  it('runs every connection with synchronous_commit on, application_name tenderbridge and the configured statement timeout, and reads BIGINTs as numbers', async () => {
    const url = await server.createDatabase();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const name = new URL(url).pathname.slice(1);
    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} SET synchronous_commit = off`);
    await admin.end();
    const pool = await freshPool({ statementTimeoutMs: 1_234 }, url);
    const { rows } = await pool.query("SELECT current_setting('synchronous_commit') AS sc, current_setting('application_name') AS app, current_setting('statement_timeout') AS st, 9007199254740991::bigint AS big, count(*) AS n FROM pg_class WHERE false");
    expect(rows).toEqual([{ sc: 'on', app: 'tenderbridge', st: '1234ms', big: Number.MAX_SAFE_INTEGER, n: 0 }]);
    await expect(pool.query('SELECT 9007199254740993::bigint AS too_big')).rejects.toThrow('beyond 2^53');
    expect(() => parseBigint('9007199254740993')).toThrow(RangeError);
  });

  it('readiness: a migrated database takes the probe write (rolled back); a database without the schema, or at another version, is not ready', async () => {
    const pool = await migratedPool();
    expect(await probePostgresDatabase(pool)).toEqual({ ok: true });
    expect((await pool.query('SELECT count(*) AS n FROM payment_events')).rows).toEqual([{ n: 0 }]);
    await pool.query(`DELETE FROM schema_history`);
    expect(await probePostgresDatabase(pool)).toEqual({ ok: false, detail: `schema version 0, expected ${LATEST_VERSION}` });
    const empty = await freshPool();
    const unmigrated = await probePostgresWrite(empty);
    expect(unmigrated.ok).toBe(false);
    expect(unmigrated.detail).toMatch(/relation "payment_events" does not exist \(SQLSTATE 42P01\)/);
    const readOnly = await freshPool();
    await migratePostgres(readOnly);
    await readOnly.query(`ALTER DATABASE ${pg.escapeIdentifier(await currentDatabase(readOnly))} SET default_transaction_read_only = on`);
    const standbyLike = await freshPool({}, urlOf(readOnly));
    expect(await probePostgresWrite(standbyLike)).toMatchObject({ ok: false, detail: expect.stringContaining('read-only transaction (SQLSTATE 25006)') });
  });

  it('says why it cannot connect', async () => {
    const pool = await freshPool({ connectionTimeoutMs: 2_000 }, server.url.replace(/:[0-9a-f]+@/, ':wrong-password@'));
    const check = await probePostgresDatabase(pool);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('password authentication failed');
    expect(check.detail).not.toContain(server.password);
  });

  async function currentDatabase(pool: PgPool): Promise<string> {
    return (await pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? '';
  }
  function urlOf(pool: PgPool): string {
    return (pool.options as { connectionString: string }).connectionString;
  }
});
