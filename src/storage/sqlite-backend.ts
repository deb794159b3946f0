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
import { checkWhileServing, RESTORE_HINT, walHasFrames } from '../shared/db/integrity-check.js';
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
  /** When the file is integrity-checked: `auto` (default) before serving after an unclean stop, else while serving; `before-serving` always first (the simulation). */
  integrity?: 'auto' | 'before-serving';
}

/** A flush of the WAL running this long (ms) takes the daemon out of rotation: the disk is not answering. */
export const FLUSH_STUCK_MS = 5_000;

/** Readiness's disk check from how long the flush under way has run. */
export function flushCheck(runningMs: number): Check {
  if (runningMs < FLUSH_STUCK_MS) return { ok: true };
  return { ok: false, detail: `flushing the database to disk has taken ${Math.round(runningMs / 1000)} s so far: the disk is not answering, and every payment waits for it` };
}

/**
 * The embedded backend: one SQLite file, owned by this daemon. Opening it checks its integrity:
 * before serving when its last run did not close it cleanly (a damaged file is refused, naming
 * the restore), else on a thread while the daemon serves (damage found takes it out of
 * readiness, naming the restore); backs it up and migrates it when this build is newer, syncs the
 * config's terminals into it, and starts the group commit every write joins.
 * @example const backend = openSqliteBackend(config, { logger, clock: Date.now, build });
 */
export function openSqliteBackend(config: Config, options: SqliteBackendOptions) {
  const { logger, clock, build } = options;
  const databasePath = sqlitePath(config.database, 'the daemon');
  // Before the daemon's connection opens it: a WAL with frames is what an unclean stop leaves.
  const unclean = options.db === undefined && databasePath !== ':memory:' && walHasFrames(databasePath);
  const db = options.db ?? openDatabase(databasePath);
  // A file SQLite has just recovered is proven before serving; a connection the caller owns (tests) or memory too.
  const checkFirst = unclean || options.integrity === 'before-serving' || options.db !== undefined || db.memory;
  if (checkFirst) {
    if (unclean) logger.warn('the last run did not close the database cleanly: checking it before serving', { database: databasePath });
    const problems = integrityProblems(db);
    if (problems.length > 0) {
      if (!options.db) db.close();
      throw new Error(`database ${databasePath} failed its integrity check (${problems.slice(0, 3).join('; ')}); ${RESTORE_HINT}`);
    }
  }
  const integrity = checkFirst
    ? null
    : checkWhileServing(db, {
        clock,
        onResult: (problems, ms) => {
          if (problems.length === 0) logger.info('database integrity checked while serving: ok', { database: databasePath, seconds: Math.round(ms / 100) / 10 });
          else logger.error(`database ${databasePath} failed its integrity check (${problems.slice(0, 3).join('; ')}): this daemon is not ready until it is restored; ${RESTORE_HINT}`, { database: databasePath, problems: problems.slice(0, 10) });
        },
        onError: (error) => logger.warn('the database could not be integrity-checked: it is checked again at the next start', { error: error.message }),
        onFallback: (error) => logger.warn('the database is integrity-checked on the event loop: payments wait while it runs', { error: error.message }),
      });
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
    ...(integrity ? { integrity: () => integrity.check() } : {}),
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
      await integrity?.close();
      await reports?.close();
      await checkpointer?.close();
      group.flush();
      if (!options.db) db.close();
    },
  };
  return {
    backend,
    /** What only a file has: the connection (backups, tests), its repositories and group commit (tests). */
    sqlite: { db, group, payments, outbox, registry, checkpointer, reports, integrity },
    /** Counts commits from now on (the daemon's start). */
    startCounting(): void {
      counting = true;
    },
  };
}

export type SqliteBackend = ReturnType<typeof openSqliteBackend>;
