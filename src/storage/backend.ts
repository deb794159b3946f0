import type { ScanWaiters } from '../electrum/scan-waiters.js';
import type { PurgeResult } from '../jobs/purge.js';
import type { StoredFigures } from '../ops/metrics.js';
import type { Check } from '../ops/readiness.js';
import type { PaymentEvents } from '../payments/events.js';
import type { RegistryView } from '../registry/registry.js';
import type { EndOfDayReport } from '../reports/end-of-day.js';
import type { GroupCommit } from '../shared/db/group-commit.js';
import type { Repos, Store } from './port.js';

/** What {@link Backend.asLeader} did: ran `fn` (and what it answered), or left the round to the daemon that holds the job. */
export type LeaderRun<T> = { ran: true; value: T } | { ran: false };

/**
 * Everything a daemon needs of its database, whichever holds it: the embedded SQLite file one
 * daemon owns (`openSqliteBackend`), or a PostgreSQL server several daemons share
 * (`openPostgresBackend`). The daemon is built over this and never asks which it has, except
 * for what only a file has (`sqlite`: backups, the commit counter of the crash suite).
 */
export interface Backend {
  readonly kind: 'sqlite' | 'postgres';
  /** The storage port, its repositories decorated by `wrap` (the daemon's webhooks). */
  storeWith(wrap: (r: Repos) => Repos): Store;
  registry: RegistryView;
  /** Payment events: on PostgreSQL, heard on every daemon sharing the database. */
  events: PaymentEvents;
  /** Held Electrum pays: on PostgreSQL, woken by a scan taken on any daemon. */
  waiters: ScanWaiters;
  figures: StoredFigures;
  /** A real write, rolled back, and the schema version (readiness). */
  probe(): Promise<Check>;
  /** Live, for every `/readyz`: whether writes reach the disk (SQLite: no flush of the WAL stuck); absent where the database says so itself. */
  disk?(): Check;
  /** Live, for every `/readyz`: the integrity check of a file opened without one, run while serving (SQLite); absent where there is none. */
  integrity?(): Check;
  /** Hears the duration (s) of each flush of the WAL to disk (SQLite; metrics); absent where the COMMIT itself flushes. */
  observeFlushes?(listener: (seconds: number) => void): void;
  purge(now: number, settings: { paymentDays: number; otherDays: number; idempotencyKeyHours: number }): Promise<PurgeResult>;
  report(period: { from: number; to: number }): Promise<EndOfDayReport>;
  /** Runs a scheduled job's round on one daemon of the fleet at a time (SQLite: this daemon is the fleet). */
  asLeader<T>(job: string, fn: () => Promise<T>): Promise<LeaderRun<T>>;
  /**
   * Writes not yet durable that an answer may have to wait for (SQLite's group commit); null
   * where every write is durable before its call resolves (PostgreSQL).
   */
  durable: Pick<GroupCommit, 'pending' | 'settled'> | null;
  /** Resolves once every write made so far is durable (before any upstream call that reports it). */
  settled(): Promise<void>;
  /** Finishes pending writes and closes the connection(s). */
  close(): Promise<void>;
}
