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
  /** Commits now (shutdown, tests). */
  flush(): void;
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

/**
 * Group commit over one better-sqlite3 connection. With `synchronous=FULL` every COMMIT waits
 * for the disk; one COMMIT per state change made the fsync, not the work, the limit of the
 * whole daemon. Writes made during one turn of the event loop share one transaction, which
 * commits in a `setImmediate` after the turn's I/O callbacks, and nothing that depends on
 * them (an HTTP answer, an outbound call, an event to a waiting terminal) happens before
 * that: callers wait on `settled()` or register `afterCommit()`.
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

  function flush(): void {
    if (!open) return;
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
    options.onCommitted?.();
    const done = waiters;
    const then = after;
    waiters = [];
    after = [];
    for (const w of done) w.resolve();
    for (const fn of then) {
      try {
        fn();
      } catch (error) {
        // One listener's bug must not keep the others (a waiting terminal) from hearing.
        options.onCallbackError?.(error);
      }
    }
  }

  function join(): void {
    // The open batch was rolled back under us: settle it as failed and start afresh.
    if (open && !db.inTransaction) fail(lost ?? rolledBack());
    if (open) return;
    // Someone else's explicit transaction (a migration, a purge): their write is theirs to commit.
    if (db.inTransaction) return;
    begin.run();
    open = true;
    setImmediate(flush);
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
    setImmediate(flush);
  };

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
    exclusive: (fn) => inTurn(turns, fn),
    get pending() {
      return open;
    },
    settled() {
      if (!open) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    afterCommit(fn) {
      if (open) after.push(fn);
      else fn();
    },
    flush,
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
