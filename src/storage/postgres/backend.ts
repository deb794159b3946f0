import { createScanWaiters } from '../../electrum/scan-waiters.js';
import { probePostgresDatabase } from '../../ops/readiness-postgres.js';
import { createPaymentEvents } from '../../payments/events.js';
import type { Merchant, TerminalSeed } from '../../shared/config/load.js';
import type { PostgresDatabaseConfig } from '../../shared/config/database-schema.js';
import { DatabaseError } from '../../shared/db/open.js';
import { migratePostgres, postgresSchemaVersion } from '../../shared/db/postgres/migrate.js';
import { POSTGRES_LATEST_VERSION } from '../../shared/db/postgres/migrations.js';
import { createPostgresPool, type PgPool } from '../../shared/db/postgres/pool.js';
import type { Logger } from '../../shared/logger.js';
import { clusteredEvents, clusteredWaiters } from '../cluster.js';
import type { Backend } from '../backend.js';
import type { Store } from '../port.js';
import { pgFigures } from './figures.js';
import { runAsLeader } from './leader.js';
import { postgresBus, type ClusterBus } from './notify.js';
import { pgPurgeExpiredData } from './purge.js';
import { createPostgresRegistry } from './registry.js';
import { pgEndOfDayReport } from './reports.js';
import { postgresStore } from './store.js';

export interface PostgresBackendOptions {
  database: PostgresDatabaseConfig;
  merchants: Merchant[];
  stores: Array<{ id: string; name: string; merchant: string }>;
  terminals: readonly TerminalSeed[];
  logger: Logger;
  clock: () => number;
  /** This build's version, recorded by a first migration. */
  appVersion: string;
  /** How often the registry looks for terminals changed elsewhere (default 5 s). */
  registryRefreshMs?: number;
}

/** Everything a daemon needs of its PostgreSQL database, for one of several daemons sharing it. */
export interface PostgresBackend extends Backend {
  readonly kind: 'postgres';
  pool: PgPool;
  /** The storage port, undecorated. */
  store: Store;
  /** The LISTEN/NOTIFY bus the events and held pays ride on. */
  bus: ClusterBus;
  durable: null;
}

/**
 * Opens the PostgreSQL database for one daemon: the pool, the storage port, the registry (config
 * terminals written, all held in memory and refreshed), the cluster bus and what rides on it.
 * An empty database gets the schema (under the migration lock: daemons starting together create it
 * once); a database at an older schema is refused, naming `tenderbridge db migrate`, which an
 * operator runs after a backup (pg_dump) rather than a daemon deciding it at start-up.
 * @example const backend = await openPostgresBackend({ database: config.database, ...config, logger, clock: Date.now, appVersion: build.version });
 */
export async function openPostgresBackend(options: PostgresBackendOptions): Promise<PostgresBackend> {
  const { logger } = options;
  const pool = createPostgresPool(options.database, { onIdleError: (error) => logger.warn('an idle PostgreSQL connection failed; the pool replaces it', { error: error.message }) });
  const opened: Array<() => Promise<void>> = [() => pool.end()];
  const closeAll = async () => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  };
  try {
    const version = await postgresSchemaVersion(pool);
    if (version === 0) {
      const made = await migratePostgres(pool, { appVersion: options.appVersion, now: options.clock });
      logger.info('PostgreSQL schema created', { version: made.version });
    } else if (version < POSTGRES_LATEST_VERSION) {
      throw new DatabaseError(`the PostgreSQL database is at schema version ${version}, this build needs ${POSTGRES_LATEST_VERSION}: back it up (pg_dump) and run tenderbridge db migrate`);
    } else if (version > POSTGRES_LATEST_VERSION) {
      // migratePostgres names the build that wrote it.
      await migratePostgres(pool, { appVersion: options.appVersion, now: options.clock });
    }
    const onCallbackError = (error: unknown) => logger.error('listener failed after commit', { error: error instanceof Error ? error.message : String(error) });
    const store = postgresStore(pool, { onCallbackError });
    const registry = await createPostgresRegistry(pool, options);
    await registry.syncFromConfig(options.terminals, options.clock());
    const refresh = setInterval(() => {
      registry.refresh().catch((error: unknown) => logger.warn('could not refresh the terminals', { error: error instanceof Error ? error.message : String(error) }));
    }, options.registryRefreshMs ?? 5_000);
    refresh.unref();
    opened.push(async () => clearInterval(refresh));
    const bus = postgresBus(pool, { connectionString: options.database.url, logger });
    opened.push(() => bus.close());
    await bus.ready();
    const events = clusteredEvents(createPaymentEvents(), bus, (id) => store.repos.payments.get(id), logger);
    const waiters = clusteredWaiters(createScanWaiters(), bus, async (tranId) => (await store.repos.electrum.qr(tranId))?.state ?? null, logger);
    return {
      kind: 'postgres',
      pool,
      store,
      storeWith: (wrap) => postgresStore(pool, { onCallbackError, wrap }),
      registry: registry.view,
      bus,
      events,
      waiters,
      figures: pgFigures(pool),
      probe: () => probePostgresDatabase(pool),
      purge: (now, settings) => pgPurgeExpiredData(pool, now, settings),
      report: (period) => pgEndOfDayReport(pool, period),
      asLeader: (job, fn) => runAsLeader(pool, job, fn),
      // Every write is committed before its call resolves: nothing for an answer to wait for.
      durable: null,
      settled: () => Promise.resolve(),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
