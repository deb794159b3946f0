import { afterAll, beforeAll, expect, it } from 'vitest';
import { createElectrumRepository } from '../../src/electrum/repository.js';
import { createDeliverer } from '../../src/outbox/deliverer.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { createPartPayProvider } from '../../src/partpay/provider.js';
import { createPaymentsCore, type PaymentsCore } from '../../src/payments/core.js';
import { createPaymentEvents } from '../../src/payments/events.js';
import { createProviders } from '../../src/payments/provider.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import type { PostgresDatabaseConfig } from '../../src/shared/config/database-schema.js';
import { immediateCommit } from '../../src/shared/db/group-commit.js';
import { isStorageFailure, migrate, openDatabase, type Db } from '../../src/shared/db/open.js';
import { migratePostgres } from '../../src/shared/db/postgres/migrate.js';
import { createPostgresPool, type PgPool } from '../../src/shared/db/postgres/pool.js';
import { ConflictError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import type { Store } from '../../src/storage/port.js';
import { postgresStore } from '../../src/storage/postgres/store.js';
import { sqliteStore } from '../../src/storage/sqlite-store.js';
import { owingWebhooks } from '../../src/webhooks/owe.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The storage port on PostgreSQL against a real server this file starts: every repository call
// answers exactly as SQLite's does (one script, run on both, compared call by call), a
// transaction commits or rolls back whole and tells after-commit work only once durable, and
// two daemons (two pools on one database) racing on one payment never both move its money.

const config = (url: string): PostgresDatabaseConfig => ({ kind: 'postgres', url, pool: { max: 6, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
const payment = (id: string, terminalId = 'T1', createdAt = 1_000) => ({ id, provider: 'partpay' as const, terminalId, storeId: 'S1', merchantId: 'm1', merchantReference: `ref-${id}`, amountMinor: 1000, currency: 'NZD', createdAt, expiresAt: createdAt + 60_000 });

/**
 * Every method of the three repositories, in an order that exercises their conditions (moves
 * that fail, pages with a cursor, settled and pending refunds), logging what each answered.
 */
async function script(store: Store): Promise<Array<[string, unknown]>> {
  const log: Array<[string, unknown]> = [];
  const note = async (name: string, value: Promise<unknown>) => {
    log.push([name, await value]);
  };
  const { payments, outbox, electrum } = store.repos;
  await store.tx(async (r) => {
    for (let i = 1; i <= 5; i++) await r.payments.insert(payment(`p${i}`, i <= 4 ? 'T1' : 'T2', 1_000 * i));
    await r.payments.journal({ paymentId: 'p1', at: 1_000, kind: 'state_changed', actor: 't', fromState: null, toState: 'created', version: 1 });
  });
  const p1 = await payments.get('p1');
  await note('get', Promise.resolve(p1));
  await note('get missing', payments.get('nope'));
  const patched = await store.tx(async (r) => r.payments.applyPatch((await r.payments.getForUpdate('p1'))!, { state: 'awaiting_customer', upstreamOrderId: 'o1', upstreamOrderNumber: 'n1' }, 2_000, null));
  await note('applyPatch', Promise.resolve(patched));
  const approved = await store.tx(async (r) => r.payments.applyPatch((await r.payments.getForUpdate('p1'))!, { state: 'approved', approvedMinor: 900 }, 3_000, 'callback'));
  await note('applyPatch final', Promise.resolve(approved));
  await note('applyPatch stale', store.tx(async (r) => r.payments.applyPatch(patched, { state: 'declined' }, 3_500, null)).catch((e: Error) => e.message));
  await note('getByOrderId', payments.getByOrderId('o1', 'partpay'));
  await note('getByOrderId other provider', payments.getByOrderId('o1', 'electrum'));
  await note('orderIdTaken', payments.orderIdTaken('o1'));
  await note('orderIdTaken unknown', payments.orderIdTaken('o-none'));
  await payments.setQr('p1', 'base64', 'AAAA');
  await payments.setExpiresAt('p2', 99_000);
  await payments.setQrText('p1', 'first');
  await payments.setQrText('p1', 'second');
  await payments.markChecked('p2', 4_000, 'CREATED');
  await payments.markChecked('p2', 4_100, null);
  await note('after setters', payments.get('p1'));
  await note('after markChecked', payments.get('p2'));
  await payments.journal({ paymentId: 'p1', at: 3_000, kind: 'state_changed', actor: 'partpay', fromState: 'awaiting_customer', toState: 'approved', version: 3, detail: { why: 'test' } });
  await payments.journal({ paymentId: 'p1', at: 3_100, kind: 'upstream_error', actor: 'partpay', detail: { call: 'refund', message: 'no' } });
  await payments.journal({ paymentId: 'p1', at: 3_200, kind: 'upstream_error', actor: 'partpay', detail: { call: 'refund', queued: true } });
  await payments.journal({ paymentId: null, at: 3_300, kind: 'orphan_callback', actor: 'partpay', rawBody: 'orderId=x' });
  await note('events', payments.events('p1'));
  await note('events after', payments.events('p1', 2));
  await note('stateChangesAfter', payments.stateChangesAfter('p1', 1));
  await note('orphanEvents', payments.orphanEvents(0, 10));
  await note('lastSeq', payments.lastSeq());
  await note('terminalChanges', payments.terminalChanges('T1', 0, 100, 10));
  await payments.saveIdempotency('terminal:T1', 'k1', 'h1', 'p1', 1_000);
  await payments.saveIdempotency('terminal:T1', 'k2', 'h2', 'p2', 5_000);
  await note('findIdempotency', payments.findIdempotency('terminal:T1', 'k1'));
  await note('findIdempotency missing', payments.findIdempotency('terminal:T2', 'k1'));
  await note('saveIdempotency twice', payments.saveIdempotency('terminal:T1', 'k1', 'h1', 'p1', 1_000).then(() => 'stored', () => 'refused'));
  await note('purgeIdempotency', payments.purgeIdempotency(2_000));
  await payments.insertRefund({ id: 'r1', paymentId: 'p1', amountMinor: 300, reason: 'damaged', requestedBy: 'terminal:T1', at: 5_000 });
  await payments.insertRefund({ id: 'r2', paymentId: 'p1', amountMinor: 200, reason: null, requestedBy: 'operator:alice', at: 5_100 });
  await note('pendingRefundsMinor', payments.pendingRefundsMinor('p1'));
  await note('settleRefund', payments.settleRefund('r1', 'succeeded', 'up-1', null, 6_000));
  await note('settleRefund again', payments.settleRefund('r1', 'failed', null, 'late', 6_100));
  await note('getRefund', payments.getRefund('r1'));
  await note('refundsOf', payments.refundsOf('p1'));
  await note('pendingRefundsMinor after', payments.pendingRefundsMinor('p1'));
  await note('counts', payments.counts());
  await note('expiredOpen', payments.expiredOpen(10_000, 10));
  await note('overdueOpen', payments.overdueOpen(10_000, 4_050, 10));
  await note('page 1', payments.page({ terminalId: 'T1', limit: 2 }));
  await note('page 2', payments.page({ terminalId: 'T1', limit: 2, after: { createdAt: 3_000, id: 'p3' } }));
  await note('page filtered', payments.page({ terminalId: 'T1', limit: 5, state: 'final', createdGte: 500, createdLt: 10_000 }));
  await note('page by reference', payments.page({ terminalId: 'T1', limit: 5, merchantReference: 'ref-p2' }));
  await note('list', payments.list({ terminalId: 'T1', limit: 3 }));
  await note('list filtered', payments.list({ state: 'created', storeId: 'S1', from: 2_000, to: 5_000 }));
  await note('list attention', payments.list({ attention: true }));

  const o1 = await outbox.enqueue('upstream.refund', 'p1', { refundId: 'r2', key: 'r2' }, 6_000);
  const o2 = await outbox.enqueue('upstream.cancel', 'p2', { key: 'c' }, 6_000, 9_000);
  const o3 = await outbox.enqueue('webhook', 'p1', { endpoint: 'till', seq: 1 }, 6_000);
  await note('enqueue ids', Promise.resolve([o2 - o1, o3 - o1]));
  await note('due', outbox.due(7_000, 10));
  await outbox.markRetry(o1, 8_000, 'HTTP 503', 7_000);
  await outbox.postpone(o3, 12_000, 7_000);
  await note('untriedDueNow', outbox.untriedDueNow('upstream.cancel', 7_500));
  await outbox.markDead(o3, 'gave up', 7_600);
  await note('revive', outbox.revive(o3, 7_700));
  await note('revive pending', outbox.revive(o3, 7_800));
  await outbox.markDone(o2, 7_900);
  await note('get', outbox.get(o1));
  await note('ofPayment', outbox.ofPayment('p1'));
  await note('list', outbox.list('pending', 10));
  await note('stats', outbox.stats());
  await note('unsettledOfTerminal', payments.unsettledOfTerminal('T1'));

  await electrum.insertQr({ tranId: 'tr1', requestId: 'q1', clientId: 'pos-1', terminalId: 'T1', provider: 'electrum', scheme: 'EMVCO_MERCHANT', qrCode: '000201', amountMinor: 1000, currency: '554', paymentId: null, responseBody: '{}', createdAt: 1_000, expiresAt: 90_000 });
  await note('qr', electrum.qr('tr1'));
  await note('moveQr wrong state', electrum.moveQr('tr1', 'paying', 'used'));
  await note('moveQr', electrum.moveQr('tr1', 'issued', 'paying'));
  await note('recordScan', electrum.recordScan('tr1', { partnerId: 'wallet', token: 'tok', scanId: 's1', at: 2_000 }));
  await note('recordScan again', electrum.recordScan('tr1', { partnerId: 'wallet', token: null, scanId: 's2', at: 2_100 }));
  await electrum.insertMessage({ sender: 'pos:pos-1', id: 'm1', kind: 'pay', requestHash: 'h', relatedId: 'tr1', responseStatus: null, responseBody: null, createdAt: 1_000 });
  await electrum.answerMessage('pos:pos-1', 'm1', 201, { ok: true });
  await note('message', electrum.message('pos:pos-1', 'm1'));
  await note('message other sender', electrum.message('partner:wallet', 'm1'));
  await note('claimMessage taken', electrum.claimMessage({ sender: 'pos:pos-1', id: 'm1', kind: 'pay', requestHash: 'h2', relatedId: null, responseStatus: null, responseBody: null, createdAt: 1_100 }));
  await note('claimMessage new', electrum.claimMessage({ sender: 'partner:wallet', id: 'm1', kind: 'notifyScan', requestHash: 'h3', relatedId: null, responseStatus: null, responseBody: null, createdAt: 1_200 }));
  await note('claimMessage kept the first', electrum.message('pos:pos-1', 'm1'));
  await note('claimMessage new row', electrum.message('partner:wallet', 'm1'));
  await electrum.insertPayment({ requestId: 'm1', partnerRequestId: 'm1', paymentId: 'p3', tranId: 'tr1', clientId: 'pos-1', requestBody: '{}', createdAt: 1_500 });
  await electrum.insertPayment({ requestId: 'm2', partnerRequestId: null, paymentId: 'p4', tranId: 'tr1', clientId: 'pos-2', requestBody: '{}', createdAt: 1_600 });
  await electrum.setPartner('p4', 'partpay');
  await electrum.markForwarded('p3', 'wallet', 2_200);
  await electrum.markAnswered('p3', 2_300);
  await electrum.markAnswered('p3', 2_400);
  await electrum.setResponse('p3', 201, { id: 'm1' });
  await note('setAdvice', electrum.setAdvice('p3', 'confirmed', 'a1'));
  await note('setAdvice again', electrum.setAdvice('p3', 'reversed', 'a2'));
  await note('payment', electrum.payment('pos-1', 'm1'));
  await note('payment other client', electrum.payment('pos-2', 'm1'));
  await note('paymentByPaymentId', electrum.paymentByPaymentId('p4'));
  await note('paymentByTran', electrum.paymentByTran('tr1'));
  await note('paymentIdsNamed', electrum.paymentIdsNamed('tr1'));
  await note('paymentIdsNamed request', electrum.paymentIdsNamed('m2'));
  return log;
}

/** A PartPay provider nobody calls here: these refunds are left to the outbox (`now: false`). */
const unreachable = async (): Promise<never> => {
  throw new Error('PartPay is not called in this test');
};
const partpay = createPartPayProvider({ client: { createOrder: unreachable, getOrder: unreachable, cancelOrder: unreachable, refundOrder: unreachable }, merchant: () => undefined, callBoundMs: 1_000 });
const coreOn = (store: Store): PaymentsCore =>
  createPaymentsCore({ store, events: createPaymentEvents(), providers: createProviders([partpay]), logger: createLogger({ level: 'error', silent: true }), clock: Date.now, newId: () => crypto.randomUUID(), lateApproval: 'refund', onOutbox: () => undefined });

describeWhenAvailable('the storage port on PostgreSQL', [tools.postgres()], () => {
  let server: TestPostgres;
  const pools: PgPool[] = [];
  const sqlite: Db[] = [];
  /** A store on a fresh migrated database, and a second one on the same database: two daemons. */
  async function daemons(): Promise<[Store, Store, PgPool]> {
    const url = await server.createDatabase();
    const a = createPostgresPool(config(url));
    const b = createPostgresPool(config(url));
    pools.push(a, b);
    await migratePostgres(a, { appVersion: 'test' });
    // Every connection open before the races start, so they race rather than wait for a handshake.
    await Promise.all([a, b].flatMap((pool) => Array.from({ length: 6 }, () => pool.query('SELECT 1'))));
    return [postgresStore(a), postgresStore(b), a];
  }

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const pool of pools) await pool.end();
    for (const db of sqlite) db.close();
    await server?.stop();
  });

  it('answers every repository call exactly as SQLite does', async () => {
    const db = openDatabase(':memory:');
    sqlite.push(db);
    migrate(db);
    const onSqlite = sqliteStore(immediateCommit(db), { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) });
    const [onPostgres] = await daemons();
    const expected = await script(onSqlite);
    const got = await script(onPostgres);
    expect(got.map(([name]) => name)).toEqual(expected.map(([name]) => name));
    for (let i = 0; i < expected.length; i++) expect({ call: got[i]?.[0], answer: got[i]?.[1] }).toEqual({ call: expected[i]?.[0], answer: expected[i]?.[1] });
    // The script is not vacuous: the calls found what they were meant to find.
    expect(expected.find(([name]) => name === 'refundsOf')?.[1]).toHaveLength(2);
    expect(expected.find(([name]) => name === 'saveIdempotency twice')?.[1]).toBe('refused');
    expect(expected.find(([name]) => name === 'claimMessage taken')?.[1]).toBe(false);
    expect([expected.find(([name]) => name === 'orderIdTaken')?.[1], expected.find(([name]) => name === 'orderIdTaken unknown')?.[1]]).toEqual([true, false]);
    expect(expected.find(([name]) => name === 'claimMessage new')?.[1]).toBe(true);
    expect(expected.find(([name]) => name === 'claimMessage kept the first')?.[1]).toMatchObject({ requestHash: 'h', responseStatus: 201 });
  }, 60_000);

  it('commits a transaction whole or not at all, and runs its after-commit work only once it is committed', async () => {
    const [store, other] = await daemons();
    const told: string[] = [];
    await store.tx(async (r) => {
      await r.payments.insert(payment('kept'));
      r.afterCommit(() => told.push('kept'));
      expect(await other.repos.payments.get('kept')).toBeNull(); // not visible to the other daemon before COMMIT
    });
    expect(told).toEqual(['kept']);
    expect(await other.repos.payments.get('kept')).not.toBeNull();
    await expect(
      store.tx(async (r) => {
        await r.payments.insert(payment('dropped'));
        r.afterCommit(() => told.push('dropped'));
        throw new ConflictError('refused', 'refused');
      }),
    ).rejects.toThrow('refused');
    expect(told).toEqual(['kept']);
    expect(await other.repos.payments.get('dropped')).toBeNull();
  });

  it('lets one of two daemons claim an Electrum message id both received at once; the other sees it taken once the first commits', async () => {
    const [a, b] = await daemons();
    const message = (createdAt: number) => ({ sender: 'pos:pos-1', id: 'same-id', kind: 'pay', requestHash: `h${createdAt}`, relatedId: null, responseStatus: null, responseBody: null, createdAt });
    let runs = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The first holds its transaction open after claiming; the second's claim waits on it.
    const first = a.tx(async (r) => {
      runs += 1;
      const claimed = await r.electrum.claimMessage(message(1));
      await held;
      return claimed;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = b.tx(async (r) => {
      runs += 1;
      return r.electrum.claimMessage(message(2));
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    expect(await Promise.all([first, second])).toEqual([true, false]);
    expect(runs).toBe(2); // no unique-key failure to run again after
    expect(await b.repos.electrum.message('pos:pos-1', 'same-id')).toMatchObject({ requestHash: 'h1' });
  });

  it('runs again a transaction that lost a unique key to another daemon, so it reads the winner (an idempotent replay, not an error)', async () => {
    const [a, b] = await daemons();
    await a.tx((r) => r.payments.insert(payment('p1')));
    await a.tx((r) => r.payments.insert(payment('p2')));
    let runs = 0;
    // Both check, both find nothing, both insert: the loser's rerun finds the winner's key.
    let checked = 0;
    let bothChecked: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (bothChecked = resolve));
    const claim = (store: Store, paymentId: string) =>
      store.tx(async (r) => {
        runs += 1;
        const seen = await r.payments.findIdempotency('terminal:T1', 'key-1');
        if (seen) return { replayOf: seen.paymentId };
        if (++checked === 2) bothChecked();
        await barrier; // neither inserts before both have found nothing
        await r.payments.saveIdempotency('terminal:T1', 'key-1', 'hash', paymentId, 1);
        return { stored: paymentId };
      });
    const [first, second] = await Promise.all([claim(a, 'p1'), claim(b, 'p2')]);
    const stored = [first, second].filter((x) => 'stored' in x);
    const replays = [first, second].filter((x) => 'replayOf' in x);
    expect(stored).toHaveLength(1);
    expect(replays).toEqual([{ replayOf: (stored[0] as { stored: string }).stored }]);
    expect(runs).toBe(3);
  });

  it('lets two daemons decide about one payment only in turn: one approval, one journal entry each, no lost update', async () => {
    const [a, b] = await daemons();
    const [coreA, coreB] = [coreOn(a), coreOn(b)];
    const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (const id of ids) {
      await a.tx(async (r) => {
        await r.payments.insert(payment(id));
        await r.payments.applyPatch((await r.payments.getForUpdate(id))!, { state: 'awaiting_customer', upstreamOrderId: `o-${id}` }, 1, null);
      });
    }
    // Per payment, a callback on one daemon, a reconciliation and a cancel on the other, all at once.
    const decisions = await Promise.all(
      ids.map((id) =>
        Promise.all([
          coreA.applier.apply(id, { type: 'provider_status', outcome: 'approved', source: 'callback' }, { actor: 'partpay', kind: 'callback' }),
          coreB.applier.apply(id, { type: 'provider_status', outcome: 'approved', source: 'reconcile' }, { actor: 'partpay', kind: 'reconcile' }),
          coreB.applier.apply(id, { type: 'cancel_requested' }, { actor: 'terminal:T1', kind: 'request' }),
        ]),
      ),
    );
    for (const [i, id] of ids.entries()) {
      const p = (await a.repos.payments.get(id))!;
      const changed = (decisions[i] ?? []).filter((d) => d.decision.kind === 'changed');
      // The stored payment is what the last decision made of it; none acted on a stale read.
      const last = changed.reduce((x, y) => (y.after.version > x.after.version ? y : x));
      expect(p.state, id).toBe(last.after.state);
      expect(['approved', 'cancelled'], id).toContain(p.state);
      const changes = (await a.repos.payments.events(id)).filter((e) => e.kind === 'state_changed');
      expect(changes.map((e) => e.version), id).toEqual([...new Set(changes.map((e) => e.version))]);
      expect(p.version, id).toBe(2 + (decisions[i] ?? []).filter((d) => d.decision.kind === 'changed').length);
    }
  });

  it('never records two full refunds of one payment asked on two daemons at once', async () => {
    const [a, b] = await daemons();
    const [coreA, coreB] = [coreOn(a), coreOn(b)];
    const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (const id of ids) {
      await a.tx(async (r) => {
        await r.payments.insert(payment(id));
        const p = await r.payments.applyPatch((await r.payments.getForUpdate(id))!, { state: 'awaiting_customer', upstreamOrderId: `o-${id}` }, 1, null);
        await r.payments.applyPatch(p, { state: 'approved', approvedMinor: 1000 }, 2, 'callback');
      });
    }
    const asks = await Promise.all(
      ids.map((id) =>
        Promise.allSettled([
          coreA.refunds.request(id, { reason: 'till A', actor: 'terminal:T1', now: false }),
          coreB.refunds.request(id, { reason: 'till B', actor: 'operator:alice', now: false }),
          coreB.refunds.request(id, { amountMinor: 100, reason: 'partial', actor: 'operator:bob', now: false }),
        ]),
      ),
    );
    for (const [i, id] of ids.entries()) {
      const refunds = await a.repos.payments.refundsOf(id);
      expect(refunds.reduce((sum, r) => sum + r.amountMinor, 0), id).toBeLessThanOrEqual(1000);
      const settled = asks[i] ?? [];
      expect(refunds.length, id).toBe(settled.filter((x) => x.status === 'fulfilled').length);
      for (const x of settled) if (x.status === 'rejected') expect(x.reason, id).toBeInstanceOf(ConflictError);
      // Each recorded refund owes exactly one delivery.
      const owed = (await a.repos.outbox.ofPayment(id)).filter((o) => o.kind === 'upstream.refund');
      expect(owed.map((o) => o.payload['refundId']).sort(), id).toEqual(refunds.map((r) => r.id).sort());
    }
  });

  it('splits the due outbox between two daemons delivering at once: each item attempted once, by one of them', async () => {
    const [a, b] = await daemons();
    await a.tx(async (r) => {
      await r.payments.insert(payment('p1'));
      for (let i = 0; i < 60; i++) await r.outbox.enqueue('webhook', 'p1', { n: i }, 1_000);
    });
    const attempts = new Map<number, string[]>();
    const deliverer = (store: Store, name: string) =>
      createDeliverer({
        outbox: store.repos.outbox,
        deliver: async (item) => {
          attempts.set(item.id, [...(attempts.get(item.id) ?? []), name]);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return 'done';
        },
        logger: createLogger({ level: 'error', silent: true }),
        clock: () => 2_000,
        maxAttempts: 3,
        baseDelayMs: 1_000,
        maxDelayMs: 10_000,
        batchSize: 7,
      });
    const [byA, byB] = await Promise.all([deliverer(a, 'A').run(), deliverer(b, 'B').run()]);
    expect(byA + byB).toBe(60);
    expect(attempts.size).toBe(60);
    expect([...attempts.values()].every((who) => who.length === 1)).toBe(true);
    // Both took part (the claim splits the rows rather than one daemon waiting for the other's).
    expect(new Set([...attempts.values()].flat())).toEqual(new Set(['A', 'B']));
    expect((await a.repos.outbox.stats()).pending).toBe(0);
  });

  it("takes over a dead daemon's claimed deliveries once its lease runs out, and not before", async () => {
    const [a, b] = await daemons();
    await a.tx(async (r) => {
      await r.payments.insert(payment('p1'));
      await r.outbox.enqueue('upstream.refund', 'p1', { refundId: 'r1' }, 1_000);
    });
    // Daemon A claims it and dies before recording any outcome.
    expect(await a.repos.outbox.claimDue(2_000, 10, 60_000)).toHaveLength(1);
    expect(await b.repos.outbox.claimDue(2_000, 10, 60_000)).toEqual([]);
    expect(await b.repos.outbox.claimDue(61_999, 10, 60_000)).toEqual([]);
    const taken = await b.repos.outbox.claimDue(62_000, 10, 60_000);
    expect(taken.map((o) => [o.kind, o.payload['refundId'], o.attempts])).toEqual([['upstream.refund', 'r1', 0]]);
  });

  it('owes the webhooks of a state change in its own transaction, on PostgreSQL as on SQLite', async () => {
    const [a, , pool] = await daemons();
    const kicks: string[] = [];
    const store = postgresStore(pool, { wrap: (r) => owingWebhooks(r, { endpoints: [{ id: 'till', url: 'https://till.example/hook', secret: 'x'.repeat(16), terminals: ['T1'] }] as never, clock: () => 5, kick: () => kicks.push('kick') }) });
    await a.tx((r) => r.payments.insert(payment('p1')));
    await a.tx((r) => r.payments.insert(payment('p2', 'T2')));
    const change = (id: string) => ({ paymentId: id, at: 5, kind: 'state_changed', actor: 't', fromState: 'created', toState: 'awaiting_customer', version: 2 });
    await store.tx(async (r) => {
      await r.payments.journal(change('p1'));
      await r.payments.journal(change('p2')); // another terminal's: no endpoint wants it
      await r.payments.journal({ paymentId: 'p1', at: 5, kind: 'request', actor: 't' }); // not an event
    });
    await expect(
      store.tx(async (r) => {
        await r.payments.journal(change('p1'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const owed = [...(await a.repos.outbox.ofPayment('p1')), ...(await a.repos.outbox.ofPayment('p2'))].filter((o) => o.kind === 'webhook');
    expect(owed.map((o) => [o.paymentId, o.payload['endpoint']])).toEqual([['p1', 'till']]);
    expect(kicks).toEqual(['kick']); // after the one commit, not for the rolled-back change
  });

  it("moves a stream's cursor only past journal entries whose transactions have ended: an entry numbered earlier but committed later is not skipped", async () => {
    const [a, b] = await daemons();
    await a.tx(async (r) => {
      await r.payments.insert(payment('s1'));
      await r.payments.insert(payment('s2'));
    });
    const change = (paymentId: string) => ({ paymentId, at: 2_000, kind: 'state_changed', actor: 'partpay', fromState: 'created', toState: 'approved', version: 2 }) as const;
    const order: string[] = [];
    let release = (): void => undefined;
    const held = new Promise<void>((ok) => (release = ok));
    let numbered = (_seq: number): void => undefined;
    const first = new Promise<number>((ok) => (numbered = ok));
    // Daemon A numbers its entry first and is slow to commit; daemon B numbers the next one and commits at once.
    const slow = a
      .tx(async (r) => {
        numbered(await r.payments.journal(change('s1')));
        await held;
      })
      .then(() => order.push('A committed'));
    const earlier = await first;
    const later = await b.tx(async (r) => r.payments.journal(change('s2')));
    expect(later).toBeGreaterThan(earlier);
    const horizon = b.repos.payments.lastSeq().then((h) => {
      order.push('horizon');
      return h;
    });
    setTimeout(release, 200);
    const [upto] = await Promise.all([horizon, slow]);
    // Past B's entry only once A's has committed: a cursor moved there sends both.
    expect(upto).toBe(later);
    expect(order).toEqual(['A committed', 'horizon']);
    expect((await b.repos.payments.terminalChanges('T1', 0, upto, 10)).map((e) => e.seq)).toEqual([earlier, later]);
  });

  it('answers a storage failure, not a crash, when the server cannot be reached', async () => {
    const pool = createPostgresPool({ ...config('postgres://tenderbridge@127.0.0.1:1/none'), pool: { max: 1, idleTimeoutMs: 1_000, connectionTimeoutMs: 2_000, statementTimeoutMs: 1_000 } });
    pools.push(pool);
    const store = postgresStore(pool);
    const inTx = await store.tx((r) => r.payments.get('p1')).catch((error: unknown) => error);
    const outside = await store.repos.payments.get('p1').catch((error: unknown) => error);
    expect(isStorageFailure(inTx)).toBe(true);
    expect(isStorageFailure(outside)).toBe(true);
  });
});
