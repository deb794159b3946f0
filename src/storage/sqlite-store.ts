import type { GroupCommit } from '../shared/db/group-commit.js';
import type { Port, Repos, Store, SyncRepos } from './port.js';

/** Calls on a synchronous repository, each answered as a promise (a throw becomes a rejection). */
function ported<T extends object>(repo: T, call: <R>(fn: () => R) => Promise<R>): Port<T> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(repo)) {
    if (typeof value !== 'function') continue;
    const fn = value as (...args: unknown[]) => unknown;
    out[name] = (...args: unknown[]) => call(() => fn.apply(repo, args));
  }
  return out as Port<T>;
}

const now = <R>(fn: () => R): Promise<R> => {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error as Error);
  }
};

/**
 * The storage port over one SQLite connection and its group commit. Transactions take turns
 * (the connection has one transaction, and a savepoint of one must not swallow another's
 * writes); a transaction's calls are answered at once, so it ends within the turn of the event
 * loop it began in and joins that turn's batch. A call outside a transaction made while one is
 * open waits for it to end, so it never lands inside another's savepoint.
 * @example const store = sqliteStore(group, { payments, outbox, electrum });
 */
export interface SqliteStoreOptions {
  /** Decorates every set of repositories the store hands out (the daemon's webhooks: see `owingWebhooks`). */
  wrap?: (r: Repos) => Repos;
}

export function sqliteStore(group: Pick<GroupCommit, 'transactionAsync' | 'exclusive' | 'settled' | 'afterCommit'>, sync: SyncRepos, options: SqliteStoreOptions = {}): Store {
  const wrap = options.wrap ?? ((r: Repos) => r);
  const outside = <R>(fn: () => R): Promise<R> => group.exclusive(fn);
  // On one connection a transaction is durable with the batch it joined: after-commit work waits
  // for that batch. Work registered inside a transaction is handed to the batch only if the
  // transaction ends well: one that throws is rolled back to its savepoint while the batch
  // commits the others, and what it registered must not run (as on PostgreSQL). Transactions
  // take turns, so the open one's list is the only one.
  let registered: Array<() => void> | null = null;
  const inTx = (fn: () => void): void => {
    if (registered) registered.push(fn);
    else group.afterCommit(fn);
  };
  const inside = wrap({ payments: ported(sync.payments, now), outbox: ported(sync.outbox, now), electrum: ported(sync.electrum, now), afterCommit: inTx });
  const repos = wrap({ payments: ported(sync.payments, outside), outbox: ported(sync.outbox, outside), electrum: ported(sync.electrum, outside), afterCommit: (fn) => group.afterCommit(fn) });
  return {
    repos,
    tx: (fn) =>
      group.transactionAsync(async () => {
        const mine: Array<() => void> = [];
        registered = mine;
        try {
          const value = await fn(inside);
          registered = null;
          for (const later of mine) group.afterCommit(later);
          return value;
        } finally {
          registered = null;
        }
      }),
    settled: () => group.settled(),
    afterCommit: (fn) => group.afterCommit(fn),
  };
}
