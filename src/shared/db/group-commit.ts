import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Db } from './open.js';

/** Called when a batch's COMMIT fails; every write in the batch is rolled back. */
export type CommitFailureListener = (error: unknown) => void;

export interface GroupCommitOptions {
  onCommitFailure?: CommitFailureListener;
  onCallbackError?: (error: unknown) => void;
  /**
   * Called synchronously right after each batch's COMMIT returned (the writes are durable), before
   * anyone waiting on them hears of it. The crash suite kills the process here (see `watchCommits`).
   */
  onCommitted?: () => void;
  /**
   * Told once when a transaction of the storage port stays open for a second: it awaits
   * something other than its own repositories (a network call, a timer, or the repositories
   * outside it, which wait for it: a deadlock), and every answer waits with the batch it holds.
   */
  onStall?: (openMs: number) => void;
  /**
   * Told once when the WAL could not be flushed to disk: every wait fails from then on, and the
   * process should exit so that SQLite recovers from what the disk kept.
   */
  onSyncFailure?: (error: unknown) => void;
  /**
   * How the WAL is flushed off the event loop (tests slow it down or fail it), or `false` to
   * keep SQLite's `synchronous=FULL`, which flushes inside each COMMIT.
   */
  walSync?: WalSync | false;
  /**
   * Told once per flush that is still running a second after it began, when a write arrives
   * meanwhile: the disk is slow or hung, and every answer waits for it (see `flushingForMs`).
   */
  onSlowFlush?: (runningMs: number) => void;
  /** Told the duration (ms, monotonic) of each flush of the WAL that succeeded, on libuv's pool or at once (metrics). */
  onFlushed?: (ms: number) => void;
  /** Epoch ms, for how long a flush has run (default `Date.now`). */
  clock?: () => number;
}

export interface GroupCommit {
  /**
   * Runs `fn` inside the open batch (opening one if none is open) and returns its result.
   * `fn`'s own `db.transaction(...)` calls become savepoints of the batch, so a throw still
   * undoes only that part. The batch commits once, after the current turn of the event loop.
   */
  run<T>(fn: () => T): T;
  /** `fn` as one transaction of its own inside the batch: a savepoint, undone alone if it throws. */
  transaction<T>(fn: () => T): T;
  /**
   * `fn` as one transaction of its own inside the batch, for the storage port: transactions take
   * turns on the connection, each a savepoint undone alone if `fn` rejects. `fn` must await
   * nothing but this connection's calls (answered at once), so it ends within its turn.
   */
  transactionAsync<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` alone on the connection: at once when no `transactionAsync` is open, else after it (and those queued before). */
  exclusive<T>(fn: () => T): Promise<T>;
  /** True while writes are made but not yet committed. */
  readonly pending: boolean;
  /** Resolves once every write made so far is durable (at once when nothing is pending); rejects if their commit failed. */
  settled(): Promise<void>;
  /** Runs `fn` after the writes made so far are committed (at once when nothing is pending); dropped if the commit fails. */
  afterCommit(fn: () => void): void;
  /** Commits now and flushes the WAL to disk on this thread (shutdown, tests). */
  flush(): void;
  /** How long the flush under way has been running, in ms (0 when none is). */
  flushingForMs(): number;
}

/** A batch SQLite rolled back on its own, cause unseen (a write outside `run` failed). */
function rolledBack(): Error {
  return Object.assign(new Error('the database rolled the transaction back; nothing of it was stored'), { code: 'SQLITE_ABORT_ROLLBACK' });
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A first-come first-served lock: `take` answers null when it was free (taken now), else when it is handed over. */
export function createTurns() {
  let held = false;
  const queue: Array<() => void> = [];
  return {
    get held() {
      return held;
    },
    take(): Promise<void> | null {
      if (!held) {
        held = true;
        return null;
      }
      return new Promise<void>((resolve) => queue.push(resolve));
    },
    give(): void {
      const next = queue.shift();
      if (next) next();
      else held = false;
    },
  };
}

/** `fn` as one savepoint of the open transaction (or as one transaction when none is open): released, or rolled back if it rejects. */
async function savepoint<T>(db: Db, fn: () => Promise<T>, name: string): Promise<T> {
  db.exec(`SAVEPOINT ${name}`);
  let value: T;
  try {
    value = await fn();
  } catch (error) {
    // SQLite may have rolled the whole transaction back by itself (disk full): then nothing is left to undo.
    if (db.inTransaction) db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
    throw error;
  }
  db.exec(`RELEASE ${name}`);
  return value;
}

/** Runs `fn` in `turns` (at once when they are free). */
function inTurn<T>(turns: ReturnType<typeof createTurns>, fn: () => T): Promise<T> {
  const wait = turns.take();
  const run = (): T => {
    try {
      return fn();
    } finally {
      turns.give();
    }
  };
  if (wait === null) {
    try {
      return Promise.resolve(run());
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
  return wait.then(run);
}

/** Runs async `fn` in `turns`, then `after` (whatever happened). */
async function asyncInTurn<T>(turns: ReturnType<typeof createTurns>, fn: () => Promise<T>, after: () => void): Promise<T> {
  const wait = turns.take();
  if (wait !== null) await wait;
  try {
    return await fn();
  } finally {
    turns.give();
    after();
  }
}

/** Flushes the WAL file's data to disk, off the event loop (the default is `fs.fdatasync` on libuv's pool). */
export type WalSync = (fd: number, done: (error: Error | null) => void) => void;

/** What one WAL sync releases: the batches' waiters and after-commit work, and how many COMMITs it covers. */
interface Pass {
  waiters: Waiter[];
  after: Array<() => void>;
  commits: number;
}

/** The WAL file of a file database in WAL mode, else null (`:memory:`, a rollback journal). */
function walPathOf(db: Db): string | null {
  if (db.memory || db.readonly) return null;
  const mode = db.pragma('journal_mode', { simple: true });
  return mode === 'wal' ? `${resolve(db.name)}-wal` : null;
}

/**
 * Group commit over one better-sqlite3 connection. Writes made during one turn of the event
 * loop share one transaction, which commits in a `setImmediate` after the turn's I/O callbacks,
 * and nothing that depends on them (an HTTP answer, an outbound call, an event to a waiting
 * terminal) happens before they are durable: callers wait on `settled()` or register
 * `afterCommit()`.
 *
 * Durable means on disk. SQLite's `synchronous=FULL` would fsync the WAL inside each COMMIT, on
 * the event loop, where it blocked every other request for the disk's flush (a tenth of the
 * daemon's event loop under load). On a file in WAL mode this connection runs
 * `synchronous=NORMAL` instead, which is FULL without that one fsync (SQLite still syncs around
 * checkpoints), and the group makes the fsync itself, with `fdatasync` on the WAL file on
 * libuv's thread pool. Waiters and after-commit work of a batch are released only when a sync
 * that started after its COMMIT has finished; commits made while a sync runs share the next
 * one. Writes on the connection outside a batch (a statement SQLite commits by itself, another
 * module's own transaction) are covered too: `pending` stays true and `settled()` waits while
 * the connection has changed anything since the last finished sync began.
 *
 * A failed sync is fatal: what the disk kept is unknown, and Linux reports the error only once.
 * Its waiters are rejected, every later wait is rejected with the same error, and
 * `onSyncFailure` is told (the daemon exits, and SQLite recovers from the disk on restart).
 *
 * Any write on the connection while a batch is open joins it (SQLite has one transaction per
 * connection), which is why HTTP answers are held by `holdResponsesUntilDurable` whenever a
 * batch is pending, whoever wrote.
 * @example
 * const group = createGroupCommit(db);
 * const row = group.run(() => insertPayment(...));
 * await group.settled(); // now it may be acknowledged
 */
export function createGroupCommit(db: Db, options: GroupCommitOptions = {}): GroupCommit {
  let open = false;
  let waiters: Waiter[] = [];
  let after: Array<() => void> = [];
  let lost: unknown = null;
  const turns = createTurns();
  // A batch due to commit while a transaction of the port is open commits when it ends.
  let flushWhenFree = false;
  // When the open transaction of the port began, and whether a stall of it was told.
  let txSince = 0;
  let stallTold = false;
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');

  // The sync off the event loop (null: SQLite's FULL syncs inside each COMMIT, as for `:memory:`).
  const walPath = options.walSync === false ? null : walPathOf(db);
  const walSync: WalSync = options.walSync || ((fd, done) => fdatasync(fd, done));
  if (walPath !== null) db.pragma('synchronous = NORMAL');
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  const changes = (): number => totalChanges.get() as number;
  let walFd: number | null = null;
  // Changes counted (total_changes) when the last finished sync began: all of them are on disk.
  let synced = changes();
  // The sync under way and what it releases, and what waits for the next one.
  let inflight: (Pass & { upTo: number; since: number; told: boolean }) | null = null;
  const clock = options.clock ?? Date.now;
  let next: Pass | null = null;
  // Set by a failed sync: every later wait fails with it.
  let broken: unknown = null;
  // A batch was due while a flush ran: it commits when the flush ends.
  let commitAfterSync = false;

  /** True while a COMMIT, or a change made outside a batch, is not known to be on disk. */
  const unsynced = (): boolean => walPath !== null && (broken !== null || inflight !== null || next !== null || changes() !== synced);

  /** What the next sync releases (created on first use). */
  const nextPass = (): Pass => (next ??= { waiters: [], after: [], commits: 0 });

  function release(pass: Pass): void {
    for (let i = 0; i < pass.commits; i++) options.onCommitted?.();
    for (const w of pass.waiters) w.resolve();
    for (const fn of pass.after) {
      try {
        fn();
      } catch (error) {
        // One listener's bug must not keep the others (a waiting terminal) from hearing.
        options.onCallbackError?.(error);
      }
    }
  }

  function syncFailed(pass: Pass, error: unknown): void {
    const first = broken === null;
    broken ??= Object.assign(new Error(`the database's WAL could not be flushed to disk (${(error as Error).message}); what the disk kept is unknown until the daemon restarts`), { code: 'SYNC_FAILED', storageFailure: true, cause: error });
    const all = [pass, ...(next ? [next] : [])];
    next = null;
    for (const p of all) for (const w of p.waiters) w.reject(broken);
    if (first) options.onSyncFailure?.(broken);
  }

  /** Starts a sync when none is running and a COMMIT or a change waits for one. */
  function startSync(): void {
    if (walPath === null || inflight !== null) return;
    if (broken !== null) {
      const failed = next;
      next = null;
      for (const w of failed?.waiters ?? []) w.reject(broken);
      return;
    }
    if (next === null && changes() === synced) return;
    const pass = { ...nextPass(), upTo: changes(), since: clock(), told: false };
    const began = performance.now();
    next = null;
    inflight = pass;
    let fd: number;
    try {
      fd = walFd ??= openSync(walPath, 'r');
    } catch (error) {
      inflight = null;
      syncFailed(pass, error);
      return;
    }
    walSync(fd, (error) => {
      // flush() released it meanwhile, synchronously; or the connection was closed without it (a crash test).
      if (inflight !== pass || !db.open) return;
      inflight = null;
      if (error) {
        syncFailed(pass, error);
      } else {
        synced = pass.upTo;
        options.onFlushed?.(performance.now() - began);
        release(pass);
      }
      if (commitAfterSync) {
        commitAfterSync = false;
        commitBatch();
      }
      // Only for someone waiting: a change nobody waits for is synced when someone does.
      if (next !== null) startSync();
    });
  }

  /** Syncs now, on this thread, and releases everything that waited (shutdown, tests). */
  function syncNow(): void {
    if (walPath === null || broken !== null || !unsynced()) return;
    const passes = [...(inflight ? [inflight] : []), ...(next ? [next] : [])];
    const upTo = changes();
    inflight = null;
    next = null;
    const pass: Pass = { waiters: passes.flatMap((p) => p.waiters), after: passes.flatMap((p) => p.after), commits: passes.reduce((n, p) => n + p.commits, 0) };
    const began = performance.now();
    try {
      fdatasyncSync((walFd ??= openSync(walPath, 'r')));
    } catch (error) {
      syncFailed(pass, error);
      return;
    }
    options.onFlushed?.(performance.now() - began);
    synced = upTo;
    release(pass);
  }

  /** Ends the open batch: its waiters are rejected with `error`, its listeners dropped. */
  function fail(error: unknown): void {
    open = false;
    const done = waiters;
    waiters = [];
    after = [];
    lost = null;
    options.onCommitFailure?.(error);
    for (const w of done) w.reject(error);
  }

  function commitBatch(now = false): void {
    if (!open) return;
    // One flush at a time, and the batch grows meanwhile: it commits when the flush under way ends.
    if (inflight !== null && !now) {
      commitAfterSync = true;
      return;
    }
    if (turns.held) {
      if (!flushWhenFree) {
        const since = txSince;
        setTimeout(() => {
          if (turns.held && txSince === since && !stallTold) {
            stallTold = true;
            options.onStall?.(Date.now() - since);
          }
        }, 1_000).unref();
      }
      flushWhenFree = true;
      return;
    }
    // SQLite rolls a whole transaction back by itself on some errors (disk full, I/O error):
    // then there is nothing to commit, and every write of the batch is gone.
    if (!db.inTransaction) {
      fail(lost ?? rolledBack());
      return;
    }
    try {
      commit.run();
    } catch (error) {
      // A failed COMMIT may leave the transaction open (a deferred constraint, SQLITE_BUSY) or
      // gone (SQLITE_FULL); either way nothing of this batch is kept.
      if (db.inTransaction) rollback.run();
      fail(error);
      return;
    }
    open = false;
    lost = null;
    const pass: Pass = { waiters, after, commits: 1 };
    waiters = [];
    after = [];
    if (walPath === null) {
      release(pass);
      return;
    }
    // Released by the next sync to begin: one under way may have begun before this COMMIT.
    const queued = nextPass();
    queued.waiters.push(...pass.waiters);
    queued.after.push(...pass.after);
    queued.commits += 1;
    startSync();
  }

  /** Tells of the flush under way once it has run a second while writes wait for it. */
  function noteSlowFlush(): void {
    if (inflight === null || inflight.told) return;
    const running = clock() - inflight.since;
    if (running < 1_000) return;
    inflight.told = true;
    options.onSlowFlush?.(running);
  }

  function join(): void {
    noteSlowFlush();
    // The open batch was rolled back under us: settle it as failed and start afresh.
    if (open && !db.inTransaction) fail(lost ?? rolledBack());
    if (open) return;
    // Someone else's explicit transaction (a migration, a purge): their write is theirs to commit.
    if (db.inTransaction) return;
    begin.run();
    open = true;
    setImmediate(commitBatch);
  }

  function run<T>(fn: () => T): T {
    join();
    try {
      return fn();
    } catch (error) {
      // Keep the cause (e.g. SQLITE_FULL) for the batch's other waiters.
      if (open && !db.inTransaction) lost ??= error;
      throw error;
    }
  }

  const afterTurn = (): void => {
    if (!flushWhenFree || turns.held) return;
    flushWhenFree = false;
    setImmediate(commitBatch);
  };

  /** Waits for a sync covering every change made so far (none open: at once). */
  function synced$(): Promise<void> {
    if (broken !== null) return Promise.reject(broken);
    if (!unsynced()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // The sync under way covers everything when nothing changed since it began.
      if (inflight !== null && next === null && changes() === inflight.upTo) inflight.waiters.push({ resolve, reject });
      else nextPass().waiters.push({ resolve, reject });
      startSync();
    });
  }

  return {
    run,
    transaction<T>(fn: () => T): T {
      if (turns.held) throw new Error('a synchronous transaction was started while a transaction of the storage port is open');
      return run(() => db.transaction(fn)());
    },
    transactionAsync<T>(fn: () => Promise<T>): Promise<T> {
      return asyncInTurn(
        turns,
        async () => {
          txSince = Date.now();
          stallTold = false;
          join();
          try {
            return await savepoint(db, fn, 'port');
          } catch (error) {
            if (open && !db.inTransaction) lost ??= error;
            throw error;
          }
        },
        afterTurn,
      );
    },
    async exclusive<T>(fn: () => T): Promise<T> {
      let wrote = false;
      const value = await inTurn(turns, () => {
        const before = walPath === null ? 0 : changes();
        const out = fn();
        // Outside a batch SQLite committed the write by itself: it is durable once a sync covers it.
        wrote = walPath !== null && !db.inTransaction && changes() !== before;
        return out;
      });
      if (wrote) await synced$();
      return value;
    },
    get pending() {
      return open || unsynced();
    },
    settled() {
      if (open) return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      return synced$();
    },
    afterCommit(fn) {
      if (open) after.push(fn);
      else if (!unsynced()) fn();
      else
        synced$().then(
          () => {
            try {
              fn();
            } catch (error) {
              options.onCallbackError?.(error);
            }
          },
          () => undefined,
        );
    },
    flushingForMs: () => (inflight === null ? 0 : Math.max(0, clock() - inflight.since)),
    flush() {
      commitAfterSync = false;
      commitBatch(true);
      syncNow();
      // Shut down (or reopened by the next flush): a closed connection leaves no descriptor behind.
      if (walFd !== null && inflight === null) {
        closeSync(walFd);
        walFd = null;
      }
    },
  };
}

/**
 * No grouping: each transaction commits on its own before it returns. For the CLI and for
 * code run outside the daemon, where there is no event loop turn to group writes over.
 */
export function immediateCommit(db: Db): GroupCommit {
  const turns = createTurns();
  return {
    run: (fn) => fn(),
    transaction: (fn) => db.transaction(fn).immediate(),
    transactionAsync: (fn) =>
      asyncInTurn(
        turns,
        async () => {
          db.exec('BEGIN IMMEDIATE');
          let value;
          try {
            value = await fn();
          } catch (error) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw error;
          }
          db.exec('COMMIT');
          return value;
        },
        () => undefined,
      ),
    exclusive: (fn) => inTurn(turns, fn),
    pending: false,
    settled: () => Promise.resolve(),
    afterCommit: (fn) => fn(),
    flush: () => undefined,
    flushingForMs: () => 0,
  };
}

/**
 * Reads inside one deferred transaction: a consistent view of several queries (a report)
 * without taking the write lock.
 * @example const rows = readSnapshot(db, () => [...a.all(), ...b.all()]);
 */
export function readSnapshot<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).deferred();
}
