import { createElectrumRepository } from '../electrum/repository.js';
import { createScanWaiters } from '../electrum/scan-waiters.js';
import { purgeExpiredData } from '../jobs/purge.js';
import type { BuildInfo } from '../ops/build-info.js';
import { sqliteFigures } from '../ops/metrics.js';
import { sqliteProbe, type Check } from '../ops/readiness.js';
import { createOutboxRepository } from '../outbox/repository.js';
import { createPaymentEvents } from '../payments/events.js';
import { createPaymentRepository } from '../payments/repository.js';
import { createRegistry } from '../registry/registry.js';
import { endOfDayReport } from '../reports/end-of-day.js';
import { startReportThread } from '../reports/report-thread.js';
import { sqlitePath } from '../shared/config/database-schema.js';
import type { Config } from '../shared/config/load.js';
import { watchCommits } from '../shared/db/commit-watch.js';
import { startCheckpointer } from '../shared/db/checkpointer.js';
import { createGroupCommit, type WalSync } from '../shared/db/group-commit.js';
import { integrityProblems, openDatabase, type Db } from '../shared/db/open.js';
import { upgradeDatabase } from '../shared/db/upgrade.js';
import type { Logger } from '../shared/logger.js';
import type { Backend } from './backend.js';
import { sqliteStore } from './sqlite-store.js';

export interface SqliteBackendOptions {
  logger: Logger;
  clock: () => number;
  build: BuildInfo;
  /** Open this database instead of `config.database.path` (tests); the caller closes it. */
  db?: Db;
  /** Called right after each durable commit once `startCounting()` was called (the crash suite's hook; see `DaemonOptions.onCommitted`). */
  onCommitted?: (count: number) => void;
  /** Told when the WAL could not be flushed to disk; by default logged and thrown (the process's fatal-error handler exits). */
  onSyncFailure?: (error: unknown) => void;
  /** How the WAL is flushed off the event loop (tests); default `fdatasync` on libuv's pool. */
  walSync?: WalSync;
  /** Checkpoint the WAL on a thread of its own (default), or leave it to SQLite inside COMMIT (the simulation, whose I/O runs on virtual time). */
  backgroundCheckpoints?: boolean;
  /** Read the end-of-day report on a thread of its own (default), or on the daemon's connection (the simulation). */
  reportThread?: boolean;
}

/** A flush of the WAL running this long (ms) takes the daemon out of rotation: the disk is not answering. */
export const FLUSH_STUCK_MS = 5_000;

/** Readiness's disk check from how long the flush under way has run. */
export function flushCheck(runningMs: number): Check {
  if (runningMs < FLUSH_STUCK_MS) return { ok: true };
  return { ok: false, detail: `flushing the database to disk has taken ${Math.round(runningMs / 1000)} s so far: the disk is not answering, and every payment waits for it` };
}

/**
 * The embedded backend: one SQLite file, owned by this daemon. Opening it checks its integrity
 * (a damaged file is refused, naming the restore), backs it up and migrates it when this build
 * is newer, syncs the config's terminals into it, and starts the group commit every write joins.
 * @example const backend = openSqliteBackend(config, { logger, clock: Date.now, build });
 */
export function openSqliteBackend(config: Config, options: SqliteBackendOptions) {
  const { logger, clock, build } = options;
  const databasePath = sqlitePath(config.database, 'the daemon');
  const db = options.db ?? openDatabase(databasePath);
  const problems = integrityProblems(db);
  if (problems.length > 0) {
    if (!options.db) db.close();
    throw new Error(`database ${databasePath} failed its integrity check (${problems.slice(0, 3).join('; ')}); restore the latest backup (see README, "Backup and restore")`);
  }
  const upgrade = upgradeDatabase(db, { appVersion: build.version, keepBackups: config.backups.keepBeforeMigration, now: clock });
  if (upgrade.backup) logger.info('database backed up before migrating', { file: upgrade.backup.file, bytes: upgrade.backup.bytes, schemaVersion: upgrade.from, removed: upgrade.removed });
  if (upgrade.applied.length > 0) logger.info('database migrated', { from: upgrade.from, versions: upgrade.applied });
  // Crash points: commits are counted from startCounting() on (start-up's own writes are the same every time).
  let commits = 0;
  let counting = false;
  const onCommitted = options.onCommitted;
  const committed = onCommitted
    ? () => {
        if (counting) onCommitted((commits += 1));
      }
    : undefined;
  if (committed) watchCommits(db, committed);
  let flushed: ((seconds: number) => void) | null = null;
  const group = createGroupCommit(db, {
    onFlushed: (ms) => flushed?.(ms / 1000),
    ...(committed ? { onCommitted: committed } : {}),
    onCommitFailure: (error) => logger.error('database commit failed: the writes of this batch were rolled back', { code: (error as { code?: string }).code, error: (error as Error).message }),
    onStall: (ms) => logger.error('a database transaction has been open for over a second: it awaits something other than its own repositories (a programming error); every answer waits for it', { openMs: ms }),
    onCallbackError: (error) => logger.error('listener failed after commit', { error: (error as Error).message, stack: (error as Error).stack }),
    // As PostgreSQL does on a failed fsync: stop, and let SQLite recover from what the disk kept.
    ...(options.walSync ? { walSync: options.walSync } : {}),
    clock,
    onSlowFlush: (ms) => logger.warn('flushing the database to disk is slow: every answer that reports a write waits for it', { runningMs: ms }),
    onSyncFailure: options.onSyncFailure ?? ((error) => {
      logger.error('the database could not be flushed to disk: stopping so that it is recovered from the disk on restart', { error: (error as Error).message });
      setImmediate(() => {
        throw error;
      });
    }),
  });
  const checkpointer = options.backgroundCheckpoints !== false && !db.memory && !db.readonly
    ? startCheckpointer(db, { onError: (error) => logger.warn('the WAL is checkpointed on the event loop for now', { error: error.message }) })
    : null;
  const reports = options.reportThread !== false && !db.memory
    ? startReportThread(db, { onError: (error) => logger.warn('end-of-day reports are read on the event loop for now', { error: error.message }) })
    : null;
  const registry = createRegistry(db, config);
  registry.syncFromConfig(config.terminals, clock());
  const payments = createPaymentRepository(db);
  const outbox = createOutboxRepository(db);
  const electrum = createElectrumRepository(db);
  const backend: Backend = {
    kind: 'sqlite',
    storeWith: (wrap) => sqliteStore(group, { payments, outbox, electrum }, { wrap }),
    registry,
    events: createPaymentEvents(),
    waiters: createScanWaiters(),
    figures: sqliteFigures(db),
    probe: async () => sqliteProbe(db),
    disk: () => flushCheck(group.flushingForMs()),
    observeFlushes: (listener) => {
      flushed = listener;
    },
    // Paced by the checkpointer: a purge writes faster than the disk takes a checkpoint.
    purge: (now, settings) => purgeExpiredData(db, now, settings, checkpointer ? { pause: () => checkpointer.caughtUp() } : {}),
    // A day's queries on the report thread: a busy day or a cold cache never holds the event loop.
    report: reports ? (period) => reports.report(period) : async (period) => endOfDayReport(db, period),
    // One daemon owns the file: it is the whole fleet.
    asLeader: async (_job, fn) => ({ ran: true, value: await fn() }),
    durable: group,
    settled: () => group.settled(),
    async close() {
      await reports?.close();
      await checkpointer?.close();
      group.flush();
      if (!options.db) db.close();
    },
  };
  return {
    backend,
    /** What only a file has: the connection (backups, tests), its repositories and group commit (tests). */
    sqlite: { db, group, payments, outbox, registry, checkpointer, reports },
    /** Counts commits from now on (the daemon's start). */
    startCounting(): void {
      counting = true;
    },
  };
}

export type SqliteBackend = ReturnType<typeof openSqliteBackend>;
