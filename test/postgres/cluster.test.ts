import { afterAll, beforeAll, expect, it } from 'vitest';
import { createScanWaiters } from '../../src/electrum/scan-waiters.js';
import { createPaymentsCore } from '../../src/payments/core.js';
import { createPaymentEvents, type PaymentEvents } from '../../src/payments/events.js';
import { createProviders } from '../../src/payments/provider.js';
import type { Payment } from '../../src/payments/types.js';
import type { PostgresDatabaseConfig } from '../../src/shared/config/database-schema.js';
import { migratePostgres } from '../../src/shared/db/postgres/migrate.js';
import { createPostgresPool, type PgPool } from '../../src/shared/db/postgres/pool.js';
import { createLogger } from '../../src/shared/logger.js';
import { clusteredEvents, clusteredWaiters } from '../../src/storage/cluster.js';
import type { Store } from '../../src/storage/port.js';
import { runAsLeader } from '../../src/storage/postgres/leader.js';
import { postgresBus, type ClusterBus, type ClusterMessage } from '../../src/storage/postgres/notify.js';
import { postgresStore } from '../../src/storage/postgres/store.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// Several daemons on one PostgreSQL database, at the level of the parts that make them one
// service: the bus they tell each other changes on (LISTEN/NOTIFY, with a resync after a lost
// connection), payment events that reach a listener on another daemon, a held Electrum pay woken
// by a scan taken on another daemon, and scheduled jobs that run on one daemon at a time.

const logger = createLogger({ level: 'error', silent: true });
const config = (url: string): PostgresDatabaseConfig => ({ kind: 'postgres', url, pool: { max: 4, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });

/** Resolves with the first value `take` finds among what `subscribe` delivers, or rejects after `ms`. */
function next<T, V>(subscribe: (fn: (value: V) => void) => () => void, take: (value: V) => T | undefined, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`nothing arrived within ${ms} ms`));
    }, ms);
    const off = subscribe((value) => {
      const found = take(value);
      if (found === undefined) return;
      clearTimeout(timer);
      off();
      resolve(found);
    });
  });
}

describeWhenAvailable('several daemons on one PostgreSQL database', [tools.postgres()], () => {
  let server: TestPostgres;
  const pools: PgPool[] = [];
  const buses: ClusterBus[] = [];

  interface Daemon {
    pool: PgPool;
    store: Store;
    bus: ClusterBus;
    events: PaymentEvents;
  }
  /** `n` daemons on one fresh, migrated database, each with its pool, store, bus and clustered events. */
  async function daemons(n: number): Promise<Daemon[]> {
    const url = await server.createDatabase();
    const out: Daemon[] = [];
    for (let i = 0; i < n; i++) {
      const pool = createPostgresPool(config(url));
      pools.push(pool);
      if (i === 0) await migratePostgres(pool, { appVersion: 'test' });
      const store = postgresStore(pool);
      const bus = postgresBus(pool, { connectionString: url, logger, reconnectMs: 100 });
      buses.push(bus);
      await bus.ready();
      out.push({ pool, store, bus, events: clusteredEvents(createPaymentEvents(), bus, (id) => store.repos.payments.get(id), logger) });
    }
    return out;
  }
  const insertOpen = (store: Store, id: string) =>
    store.tx(async (r) => {
      await r.payments.insert({ id, provider: 'partpay', terminalId: 'T1', storeId: 'S1', merchantId: 'm1', merchantReference: id, amountMinor: 500, currency: 'NZD', createdAt: 1, expiresAt: 2 });
      await r.payments.applyPatch((await r.payments.getForUpdate(id))!, { state: 'awaiting_customer', upstreamOrderId: `o-${id}` }, 1, null);
    });
  const coreOf = (d: Daemon) => createPaymentsCore({ store: d.store, events: d.events, providers: createProviders([]), logger, clock: Date.now, newId: () => crypto.randomUUID(), lateApproval: 'flag', onOutbox: () => undefined });

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    for (const pool of pools) await pool.end();
    await server?.stop();
  });

  it('tells every other daemon, and not itself, what one publishes', async () => {
    const [a, b, c] = await daemons(3);
    const heard: Array<[string, ClusterMessage]> = [];
    for (const [name, d] of [['a', a], ['b', b], ['c', c]] as const) d!.bus.subscribe((m) => heard.push([name, m]));
    const atB = next((fn: (m: ClusterMessage) => void) => b!.bus.subscribe(fn), (m) => m);
    const atC = next((fn: (m: ClusterMessage) => void) => c!.bus.subscribe(fn), (m) => m);
    a!.bus.publish({ kind: 'payment', id: 'p1', version: 3 });
    expect(await atB).toEqual({ kind: 'payment', id: 'p1', version: 3 });
    expect(await atC).toEqual({ kind: 'payment', id: 'p1', version: 3 });
    expect(heard.map(([name]) => name).sort()).toEqual(['b', 'c']);
  });

  it("wakes a terminal waiting on one daemon when another decides its payment, with the committed payment", async () => {
    const [a, b] = await daemons(2);
    await insertOpen(a!.store, 'p1');
    // The terminal's long-poll is on daemon B; PartPay's callback reaches daemon A.
    const atB = next((fn: (p: Payment) => void) => b!.events.subscribe('p1', fn), (p) => (p.state === 'approved' ? p : undefined));
    await coreOf(a!).applier.apply('p1', { type: 'provider_status', outcome: 'approved', source: 'callback' }, { actor: 'partpay', kind: 'callback' });
    const heard = await atB;
    expect(heard.state).toBe('approved');
    expect(heard.version).toBe(3);
    expect(heard.approvedMinor).toBe(500);
  });

  it('catches up after its listening connection was cut: a change told meanwhile still reaches the waiting terminal', async () => {
    const [a, b] = await daemons(2);
    await insertOpen(a!.store, 'p1');
    const atB = next((fn: (p: Payment) => void) => b!.events.subscribe('p1', fn), (p) => (p.state === 'approved' ? p : undefined));
    // Cut every listening connection (as a failover or a network blip would), then decide at once.
    await a!.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tenderbridge-listen'");
    await coreOf(a!).applier.apply('p1', { type: 'provider_status', outcome: 'approved', source: 'callback' }, { actor: 'partpay', kind: 'callback' });
    expect((await atB).state).toBe('approved');
  });

  it('wakes an Electrum pay held on one daemon when the scan is taken on another', async () => {
    const [a, b] = await daemons(2);
    const qrState = (d: Daemon) => async (tranId: string) => (await d.store.repos.electrum.qr(tranId))?.state ?? null;
    const heldOnA = clusteredWaiters(createScanWaiters(), a!.bus, qrState(a!), logger);
    const onB = clusteredWaiters(createScanWaiters(), b!.bus, qrState(b!), logger);
    // B holds no pay, yet takes the scan: the database decides (notifyScan's transaction checks the code and the payment).
    expect(onB.acceptsScan('tr-1')).toBe(true);
    const waiting = heldOnA.wait('tr-1', 10_000);
    onB.wake('tr-1', 'scanned');
    expect(await waiting).toBe('scanned');
  });

  it('wakes a held pay after a reconnect when its code was scanned while the bus was down', async () => {
    const [a] = await daemons(1);
    await a!.store.repos.electrum.insertQr({ tranId: 'tr-2', requestId: 'q', clientId: 'pos', terminalId: 'T1', provider: 'electrum', scheme: 'EMVCO_MERCHANT', qrCode: 'x', amountMinor: 500, currency: '554', paymentId: null, responseBody: '{}', createdAt: 1, expiresAt: Date.now() + 60_000 });
    const held = clusteredWaiters(createScanWaiters(), a!.bus, async (tranId) => (await a!.store.repos.electrum.qr(tranId))?.state ?? null, logger);
    const waiting = held.wait('tr-2', 10_000);
    await a!.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tenderbridge-listen'");
    // The scan is recorded while no notice can arrive.
    await a!.store.repos.electrum.moveQr('tr-2', 'issued', 'paying');
    await a!.store.repos.electrum.recordScan('tr-2', { partnerId: 'wallet', token: null, scanId: 's', at: 1 });
    expect(await waiting).toBe('scanned');
  });

  it('runs each scheduled job on one daemon at a time; the next run goes to whoever takes it', async () => {
    const [a, b] = await daemons(2);
    let release: () => void = () => undefined;
    const busy = new Promise<void>((resolve) => (release = resolve));
    const first = runAsLeader(a!.pool, 'purge', async () => {
      await busy;
      return 'a';
    });
    // While A purges, B's run of the same job is skipped; another job is not held up.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await runAsLeader(b!.pool, 'purge', async () => 'b')).toEqual({ ran: false });
    expect(await runAsLeader(b!.pool, 'report', async () => 'b')).toEqual({ ran: true, value: 'b' });
    release();
    expect(await first).toEqual({ ran: true, value: 'a' });
    expect(await runAsLeader(b!.pool, 'purge', async () => 'b')).toEqual({ ran: true, value: 'b' });
  });
});
