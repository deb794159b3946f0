import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createElectrumRepository } from '../../src/electrum/repository.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { createGroupCommit, immediateCommit } from '../../src/shared/db/group-commit.js';
import { migrate, openDatabase, type Db } from '../../src/shared/db/open.js';
import type { Store } from '../../src/storage/port.js';
import { sqliteStore } from '../../src/storage/sqlite-store.js';

const opened: Db[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The daemon's connection with its group commit and store, and a second connection that sees only what is committed. */
function setup(kind: 'group' | 'immediate' = 'group') {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-port-'));
  dirs.push(dir);
  const path = join(dir, 'p.db');
  const db = openDatabase(path);
  migrate(db);
  const other = openDatabase(path);
  opened.push(db, other);
  const group = kind === 'group' ? createGroupCommit(db) : immediateCommit(db);
  const store = sqliteStore(group, { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) });
  return { db, other, group, store };
}

const payment = (id: string) => ({ id, provider: 'partpay' as const, terminalId: 'T1', storeId: 'S1', merchantId: 'm1', merchantReference: id, amountMinor: 100, currency: 'NZD', createdAt: 1, expiresAt: 2 });
const committedIds = (db: Db): string[] => (db.prepare('SELECT id FROM payments ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
const journalOf = (db: Db, id: string): string[] => (db.prepare('SELECT kind FROM payment_events WHERE payment_id = ? ORDER BY seq').all(id) as Array<{ kind: string }>).map((r) => r.kind);

/** A transaction that inserts `id`, journals, then throws if asked: its writes must go together. */
const insertThen = (store: Store, id: string, fail: boolean) =>
  store.tx(async (r) => {
    await r.payments.insert(payment(id));
    await r.payments.journal({ paymentId: id, at: 1, kind: 'request', actor: 'test' });
    if (fail) throw new Error(`refused ${id}`);
    return id;
  });

describe('the storage port over SQLite', () => {
  it('commits a transaction with the group-commit batch, and tells settled() only after it is durable', async () => {
    const { other, store } = setup();
    await insertThen(store, 'a', false);
    expect(committedIds(other)).toEqual([]); // not yet: the batch commits after the turn
    await store.settled();
    expect(committedIds(other)).toEqual(['a']);
  });

  it('undoes a transaction that rejects, and only it, while the batch keeps the others', async () => {
    const { db, other, store } = setup();
    const results = await Promise.allSettled([insertThen(store, 'a', false), insertThen(store, 'b', true), insertThen(store, 'c', false)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await store.settled();
    expect(committedIds(other)).toEqual(['a', 'c']);
    expect(journalOf(db, 'b')).toEqual([]);
    expect(journalOf(db, 'a')).toEqual(['request']);
  });

  it('runs after-commit work once the batch is durable, and never the work of a transaction that threw, though the batch commits the others', async () => {
    const { other, store } = setup();
    const told: string[] = [];
    const tx = (id: string, fail: boolean) =>
      store.tx(async (r) => {
        await r.payments.insert(payment(id));
        r.afterCommit(() => told.push(`${id}: ${committedIds(other).join(',')}`));
        if (fail) throw new Error(`refused ${id}`);
      });
    const results = await Promise.allSettled([tx('a', false), tx('b', true), tx('c', false)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(told).toEqual([]);
    await store.settled();
    // Each was told after the batch with a and c was committed; b's work never ran.
    expect(told).toEqual(['a: a,c', 'c: a,c']);
  });

  it('runs transactions started together one after the other, never one inside another', async () => {
    const { store } = setup();
    const order: string[] = [];
    const step = (name: string) =>
      store.tx(async (r) => {
        order.push(`${name}:begin`);
        await r.payments.insert(payment(name));
        order.push(`${name}:inserted`);
        await r.payments.journal({ paymentId: name, at: 1, kind: 'request', actor: 'test' });
        order.push(`${name}:end`);
      });
    await Promise.all([step('x'), step('y')]);
    expect(order).toEqual(['x:begin', 'x:inserted', 'x:end', 'y:begin', 'y:inserted', 'y:end']);
  });

  it('makes a call outside any transaction wait for the open one, so it never lands in (and is never undone with) its savepoint', async () => {
    const { db, other, store } = setup();
    let outside: Promise<number> | null = null;
    const failing = store.tx(async (r) => {
      await r.payments.insert(payment('inside'));
      // Another piece of work writes while this transaction is open (the same turn of the event loop).
      outside = store.repos.payments.journal({ paymentId: null, at: 1, kind: 'orphan_callback', actor: 'test' });
      await r.payments.journal({ paymentId: 'inside', at: 1, kind: 'request', actor: 'test' });
      throw new Error('refused');
    });
    await expect(failing).rejects.toThrow('refused');
    expect(outside).not.toBeNull();
    const seq = await (outside as unknown as Promise<number>);
    await store.settled();
    expect(committedIds(other)).toEqual([]);
    // The write made outside survived the rollback of the transaction it overlapped.
    expect(db.prepare('SELECT kind FROM payment_events WHERE seq = ?').get(seq)).toEqual({ kind: 'orphan_callback' });
  });

  it('holds a batch commit that comes due while a transaction is open until it ends', async () => {
    const { other, store } = setup();
    await insertThen(store, 'first', false);
    // This transaction spans a turn of the event loop (the batch above comes due meanwhile).
    const spanning = store.tx(async (r) => {
      await r.payments.insert(payment('second'));
      await new Promise<void>((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(committedIds(other)).toEqual([]); // nothing half-done was committed
      await r.payments.journal({ paymentId: 'second', at: 1, kind: 'request', actor: 'test' });
    });
    await spanning;
    await store.settled();
    expect(committedIds(other)).toEqual(['first', 'second']);
  });

  it('refuses a synchronous transaction started while a transaction of the port is open', async () => {
    const { db, group, store } = setup();
    let refused: unknown = null;
    await store.tx(async (r) => {
      await r.payments.insert(payment('a'));
      try {
        group.transaction(() => db.prepare('DELETE FROM payments').run());
      } catch (error) {
        refused = error;
      }
    });
    expect(String(refused)).toMatch(/synchronous transaction was started while a transaction of the storage port is open/);
  });

  it('commits each transaction at once outside the daemon (the CLI), and rolls a refused one back whole', async () => {
    const { other, store } = setup('immediate');
    await insertThen(store, 'a', false);
    expect(committedIds(other)).toEqual(['a']);
    await expect(insertThen(store, 'b', true)).rejects.toThrow('refused b');
    expect(committedIds(other)).toEqual(['a']);
  });

  it('tells once of a transaction that stays open (it awaits what is not its own: a deadlock on the outside repositories)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-port-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'p.db'));
    opened.push(db);
    migrate(db);
    const stalls: number[] = [];
    const group = createGroupCommit(db, { onStall: (ms) => stalls.push(ms) });
    const store = sqliteStore(group, { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) });
    await insertThen(store, 'first', false); // a batch is open: its commit comes due while the next transaction waits
    let release: () => void = () => undefined;
    const stuck = store.tx(async (r) => {
      await r.payments.insert(payment('second'));
      await new Promise<void>((resolve) => (release = resolve));
    });
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeGreaterThanOrEqual(1_000);
    release();
    await stuck;
    await store.settled();
    expect(stalls).toHaveLength(1);
  });
});
