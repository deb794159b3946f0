import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, type Migration } from '../../src/shared/db/migrations.js';
import { paymentPageSql, type PaymentPageQuery } from '../../src/payments/repository.js';
import { PAYMENTS_BY_STATE_SQL } from '../../src/ops/metrics.js';
import { DatabaseError, integrityProblems, LATEST_VERSION, migrate, openDatabase, schemaVersion, type Db } from '../../src/shared/db/open.js';

const TABLES = ['terminals', 'payments', 'payment_events', 'refunds', 'outbox', 'idempotency_keys'];

const opened: Db[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function memoryDb(): Db {
  const db = openDatabase(':memory:');
  opened.push(db);
  return db;
}

function tables(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((r) => r.name);
}

describe('migrations on an empty database', () => {
  it('apply every migration up to LATEST_VERSION, in order', () => {
    const db = memoryDb();
    expect(schemaVersion(db)).toBe(0);
    expect(migrate(db)).toEqual(MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(LATEST_VERSION).toBeGreaterThanOrEqual(1);
  });

  it('apply nothing the second time', () => {
    const db = memoryDb();
    migrate(db);
    expect(migrate(db)).toEqual([]);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
  });

  it('create every table the daemon uses', () => {
    const db = memoryDb();
    migrate(db);
    expect(tables(db)).toEqual(expect.arrayContaining(TABLES));
  });

  it('leave a database that passes the integrity check', () => {
    const db = memoryDb();
    migrate(db);
    expect(integrityProblems(db)).toEqual([]);
  });
});

describe('the schema', () => {
  it('keeps payment_events append-only: an UPDATE is refused', () => {
    const db = memoryDb();
    migrate(db);
    db.prepare("INSERT INTO payment_events (payment_id, at, kind, actor) VALUES (NULL, 1, 'orphan_callback', 'partpay')").run();
    expect(() => db.prepare("UPDATE payment_events SET kind = 'rewritten'").run()).toThrow(/append-only/);
    expect(db.prepare('SELECT kind FROM payment_events').pluck().get()).toBe('orphan_callback');
  });

  it('refuses a refund for a payment that does not exist (foreign keys are on)', () => {
    const db = memoryDb();
    migrate(db);
    const insert = db.prepare("INSERT INTO refunds (id, payment_id, amount_minor, state, requested_by, created_at, updated_at) VALUES ('r1', 'missing', 100, 'pending', 'terminal:T1', 1, 1)");
    expect(() => insert.run()).toThrow(/FOREIGN KEY/);
  });
});

describe("the pages of a terminal's payments (GET /v1/payments)", () => {
  const plan = (db: Db, q: PaymentPageQuery): string => {
    const { sql, args } = paymentPageSql(q);
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
  };
  const after = { createdAt: 1_000, id: '00000000-0000-4000-8000-000000000000' };

  it.each([
    [{}, 'payments_terminal_created'],
    [{ after }, 'payments_terminal_created'],
    [{ state: 'approved', after }, 'payments_terminal_state_created'],
    [{ merchantReference: 'SALE-1', after }, 'payments_terminal_reference_created'],
    [{ createdGte: 0, createdLt: 5_000, after }, 'payments_terminal_created'],
  ] as const)('%o is one range of %s, without a sort: a page costs the same on a big database', (filter, index) => {
    const db = memoryDb();
    migrate(db);
    const text = plan(db, { terminalId: 'TERM0001', limit: 20, ...filter });
    expect(text).toContain(`USING INDEX ${index}`);
    expect(text).not.toMatch(/TEMP B-TREE/);
  });

  it('are the same rows in the same order after an upgrade from version 5', () => {
    const db = memoryDb();
    migrate(db, MIGRATIONS.filter((m) => m.version <= 5));
    const insert = db.prepare(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at)
      VALUES (?, 'partpay', 'T1', 'S1', 'm1', 'R', 100, 'NZD', 'approved', ?, 1, 2)`);
    insert.run('b', 10);
    insert.run('a', 10);
    insert.run('c', 20);
    migrate(db);
    const { sql, args } = paymentPageSql({ terminalId: 'T1', limit: 2, after: { createdAt: 20, id: 'c' } });
    expect((db.prepare(sql).all(args) as Array<{ id: string }>).map((r) => r.id)).toEqual(['b', 'a']);
    expect(integrityProblems(db)).toEqual([]);
  });
});

describe('upgrading a version-2 database (before providers sat behind a port)', () => {
  it('keeps every payment, refund and owed delivery, in the new form', () => {
    const db = memoryDb();
    migrate(db, MIGRATIONS.filter((m) => m.version <= 2));
    const payment = db.prepare(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, upstream_order_id, upstream_order_number, refunded_minor, attention, created_at, updated_at, expires_at)
      VALUES (@id, @provider, 'T1', 'S1', 'm1', @id, 1000, 'NZD', @state, @order, @number, @refunded, @attention, 1, 1, 2)`);
    payment.run({ id: 'paid', provider: 'partpay', state: 'partially_refunded', order: 'o-1', number: '1', refunded: 300, attention: null });
    payment.run({ id: 'late', provider: 'partpay', state: 'cancelled', order: 'o-2', number: '2', refunded: 0, attention: 'late_approval' });
    payment.run({ id: 'open', provider: 'partpay', state: 'awaiting_customer', order: 'o-3', number: '3', refunded: 0, attention: null });
    payment.run({ id: 'el', provider: 'electrum', state: 'failed', order: 'electrum:tran-1', number: 'partner-a', refunded: 0, attention: null });
    db.prepare("INSERT INTO electrum_payments (request_id, payment_id, tran_id, client_id, partner_id, request_body, created_at) VALUES ('req-1', 'el', 'tran-1', 'pos-1', 'partner-a', '{}', 5)").run();
    db.prepare("INSERT INTO refunds (id, payment_id, amount_minor, state, requested_by, created_at, updated_at) VALUES ('r-1', 'paid', 200, 'pending', 'terminal:T1', 1, 1)").run();
    const owe = db.prepare("INSERT INTO outbox (kind, payment_id, payload, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 1, 1, 1)");
    owe.run('partpay.cancel', 'open', JSON.stringify({ orderId: 'o-3' }));
    owe.run('partpay.refund', 'paid', JSON.stringify({ refundId: 'r-1' }));
    owe.run('electrum.reversal', 'el', JSON.stringify({ requestId: 'req-1', reason: 'TIMEOUT', adviceId: 'advice-1' }));
    owe.run('electrum.confirmation', 'el', JSON.stringify({ requestId: 'req-1', adviceId: 'advice-2' }));

    expect(migrate(db)).toEqual(MIGRATIONS.filter((m) => m.version > 2).map((m) => m.version));
    const approved = (id: string) => db.prepare('SELECT approved_minor FROM payments WHERE id = ?').pluck().get(id);
    expect([approved('paid'), approved('late'), approved('open'), approved('el')]).toEqual([1000, 1000, null, null]);
    // The partner knows an Electrum payment by the POS's request id, not a made-up order id.
    expect(db.prepare("SELECT upstream_order_id, upstream_order_number FROM payments WHERE id = 'el'").get()).toEqual({ upstream_order_id: 'req-1', upstream_order_number: null });
    expect(db.prepare("SELECT forwarded_at, answered_at FROM electrum_payments WHERE request_id = 'req-1'").get()).toEqual({ forwarded_at: 5, answered_at: 5 });
    const rows = db.prepare('SELECT kind, payment_id, payload FROM outbox ORDER BY id').all() as Array<{ kind: string; payment_id: string; payload: string }>;
    expect(rows.map((r) => [r.kind, r.payment_id, JSON.parse(r.payload)])).toEqual([
      ['upstream.cancel', 'open', { key: 'cancel-open' }],
      ['upstream.refund', 'paid', { refundId: 'r-1' }],
      ['upstream.cancel', 'el', { key: 'advice-1', reason: 'TIMEOUT' }],
      ['electrum.confirmation', 'el', { requestId: 'req-1', adviceId: 'advice-2' }],
    ]);
    expect(integrityProblems(db)).toEqual([]);
  });
});

describe('upgrading a version-4 database (Electrum message ids were global)', () => {
  it('scopes every message id to its sender, keys pays by client, and remembers the ids partners were sent', () => {
    const db = memoryDb();
    migrate(db, MIGRATIONS.filter((m) => m.version <= 4));
    const payment = db.prepare(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, upstream_order_id, created_at, updated_at, expires_at)
      VALUES (@id, @provider, 'T1', 'S1', 'm1', @id, 1000, 'NZD', @state, @order, 1, 1, 2)`);
    payment.run({ id: 'el', provider: 'electrum', state: 'approved', order: 'req-1' });
    payment.run({ id: 'pp', provider: 'partpay', state: 'approved', order: 'o-1' });
    const pay = db.prepare(`INSERT INTO electrum_payments (request_id, payment_id, tran_id, client_id, partner_id, request_body, advice, advice_id, created_at, forwarded_at, answered_at)
      VALUES (?, ?, ?, ?, ?, '{}', ?, ?, 5, 6, 7)`);
    pay.run('req-1', 'el', 'tran-1', 'pos-1', 'partner-a', 'confirmed', 'adv-1');
    pay.run('req-2', 'pp', 'tran-2', 'pos-pp', 'partpay', null, null);
    const message = db.prepare("INSERT INTO electrum_messages (id, kind, sender, request_hash, response_status, response_body, created_at) VALUES (?, ?, ?, 'h', ?, ?, 3)");
    message.run('req-1', 'pay', 'pos-1', 201, '{}');
    message.run('scan-1', 'notifyScan', 'partner-a', 202, null);
    message.run('adv-1', 'confirmPayment', 'pos-1', 202, '{"id":"adv-1"}');
    message.run('req-2', 'pay', 'pos-pp', 201, '{}');
    db.prepare("INSERT INTO outbox (kind, payment_id, payload, next_attempt_at, created_at, updated_at) VALUES ('upstream.cancel', 'el', ?, 1, 1, 1)").run(JSON.stringify({ key: 'rev-9', reason: 'CANCELLED' }));

    expect(migrate(db)).toEqual(MIGRATIONS.filter((m) => m.version > 4).map((m) => m.version));
    const messages = db.prepare('SELECT sender, id, kind, response_status AS status, related_id AS related FROM electrum_messages ORDER BY sender, id').all();
    expect(messages).toEqual([
      { sender: 'partner:partner-a', id: 'scan-1', kind: 'notifyScan', status: 202, related: null },
      { sender: 'pos:pos-1', id: 'adv-1', kind: 'confirmPayment', status: 202, related: null },
      { sender: 'pos:pos-1', id: 'req-1', kind: 'pay', status: 201, related: null },
      { sender: 'pos:pos-pp', id: 'req-2', kind: 'pay', status: 201, related: null },
      // What Electrum partners were sent (a PartPay payment's id went to no partner).
      { sender: 'tenderbridge', id: 'adv-1', kind: 'advice', status: null, related: 'el' },
      { sender: 'tenderbridge', id: 'req-1', kind: 'pay', status: null, related: 'el' },
      { sender: 'tenderbridge', id: 'rev-9', kind: 'advice', status: null, related: 'el' },
    ]);
    const pays = db.prepare('SELECT client_id, request_id, partner_request_id, payment_id, advice, advice_id, forwarded_at, answered_at FROM electrum_payments ORDER BY request_id').all();
    expect(pays).toEqual([
      { client_id: 'pos-1', request_id: 'req-1', partner_request_id: 'req-1', payment_id: 'el', advice: 'confirmed', advice_id: 'adv-1', forwarded_at: 6, answered_at: 7 },
      { client_id: 'pos-pp', request_id: 'req-2', partner_request_id: null, payment_id: 'pp', advice: null, advice_id: null, forwarded_at: 6, answered_at: 7 },
    ]);
    // Another client may now use the same ids; the same client may not, and no two payments share the id a partner knows.
    payment.run({ id: 'el-2', provider: 'electrum', state: 'created', order: null });
    const insert = db.prepare("INSERT INTO electrum_payments (client_id, request_id, partner_request_id, payment_id, tran_id, request_body, created_at) VALUES (?, 'req-1', ?, 'el-2', 'tran-3', '{}', 8)");
    expect(() => insert.run('pos-1', 'ours-1')).toThrow(/UNIQUE/);
    expect(() => insert.run('pos-2', 'req-1')).toThrow(/UNIQUE/);
    insert.run('pos-2', 'ours-1');
    db.prepare("INSERT INTO electrum_messages (sender, id, kind, request_hash, created_at) VALUES ('pos:pos-2', 'req-1', 'pay', 'h', 9)").run();
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'electrum_payments_tran'").pluck().get()).toBe('electrum_payments_tran');
    expect(integrityProblems(db)).toEqual([]);
  });
});

describe('migrate refuses what it cannot apply', () => {
  it('refuses a database written by a newer build, saying to upgrade or restore', () => {
    const db = memoryDb();
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    expect(() => migrate(db)).toThrow(DatabaseError);
    expect(() => migrate(db)).toThrow(/is at schema version \d+ \(written by a newer tenderbridge\); this is tenderbridge unknown, which knows schema versions up to \d+\. Install the tenderbridge that wrote it \(or a later one\), or restore a backup/);
    expect(schemaVersion(db)).toBe(LATEST_VERSION + 1);
    expect(tables(db)).toEqual([]);
  });

  it('leaves the version and the schema as they were when a migration fails', () => {
    const db = memoryDb();
    const migrations: Migration[] = [
      { version: 1, name: 'first', sql: 'CREATE TABLE first (x INTEGER) STRICT;' },
      { version: 2, name: 'broken', sql: 'CREATE TABLE second (x INTEGER) STRICT; INSERT INTO no_such_table VALUES (1);' },
      { version: 3, name: 'never reached', sql: 'CREATE TABLE third (x INTEGER) STRICT;' },
    ];
    expect(() => migrate(db, migrations)).toThrow(/no_such_table/);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['first']);
  });

  it('applies custom migrations in version order whatever order they are listed in', () => {
    const db = memoryDb();
    const migrations: Migration[] = [
      { version: 2, name: 'second', sql: 'ALTER TABLE first ADD COLUMN y INTEGER;' },
      { version: 1, name: 'first', sql: 'CREATE TABLE first (x INTEGER);' },
    ];
    expect(migrate(db, migrations)).toEqual([1, 2]);
    expect(schemaVersion(db)).toBe(2);
  });
});

describe('openDatabase', () => {
  it('opens a file with WAL, synchronous=FULL and foreign keys on, creating its folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-db-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'nested', 'test.db'));
    opened.push(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    migrate(db);
    expect(integrityProblems(db)).toEqual([]);
  });

  it('refuses to open a missing file read-only, with a DatabaseError naming it', () => {
    const path = join(tmpdir(), 'tenderbridge-no-such-dir', 'absent.db');
    expect(() => openDatabase(path, { readonly: true })).toThrow(DatabaseError);
    expect(() => openDatabase(path, { readonly: true })).toThrow(/absent\.db/);
  });
});

describe('upgrading a version-7 database (payment counts in one row per provider and state)', () => {
  it('keeps every count, in stripe 0, and the triggers go on counting inserts, state changes and deletes', () => {
    const db = memoryDb();
    migrate(db, MIGRATIONS.filter((m) => m.version <= 7));
    const payment = db.prepare(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at)
      VALUES (?, ?, 'T1', 'S1', 'm1', 'R', 100, 'NZD', ?, 1, 1, 2)`);
    payment.run('a', 'partpay', 'approved');
    payment.run('b', 'partpay', 'approved');
    payment.run('c', 'electrum', 'created');
    expect(migrate(db)).toEqual(MIGRATIONS.filter((m) => m.version > 7).map((m) => m.version));
    expect(db.prepare('SELECT provider, state, stripe, n FROM payment_counts ORDER BY provider, state').all()).toEqual([
      { provider: 'electrum', state: 'created', stripe: 0, n: 1 },
      { provider: 'partpay', state: 'approved', stripe: 0, n: 2 },
    ]);
    payment.run('d', 'electrum', 'created');
    db.prepare("UPDATE payments SET state = 'refunded' WHERE id = 'a'").run();
    db.prepare("DELETE FROM payments WHERE id = 'c'").run();
    const grouped = db.prepare('SELECT provider, state, count(*) AS n FROM payments GROUP BY provider, state ORDER BY provider, state').all();
    expect(db.prepare(PAYMENTS_BY_STATE_SQL).all()).toEqual(grouped);
    expect(db.prepare('SELECT DISTINCT stripe FROM payment_counts').pluck().all()).toEqual([0]);
    expect(integrityProblems(db)).toEqual([]);
  });
});
