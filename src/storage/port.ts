import type { ElectrumRepository } from '../electrum/repository.js';
import type { OutboxRepository } from '../outbox/repository.js';
import type { PaymentRepository } from '../payments/repository.js';

/**
 * A repository as the storage port offers it: every method answers a promise, whichever
 * backend holds the rows (SQLite answers at once, PostgreSQL over the network).
 */
export type Port<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };

/** The synchronous SQLite repositories an adapter is built from. */
export interface SyncRepos {
  payments: PaymentRepository;
  outbox: OutboxRepository;
  electrum: ElectrumRepository;
}

/** The repositories the payments core, the outbox and Electrum reach the database through. */
export interface Repos {
  payments: Port<PaymentRepository>;
  outbox: Port<OutboxRepository>;
  electrum: Port<ElectrumRepository>;
  /**
   * Runs `fn` once this transaction's writes are durable (dropped if they never are). Outside a
   * transaction: once the writes made so far are.
   */
  afterCommit(fn: () => void): void;
}

/**
 * The storage port: repositories and a transaction runner, implemented by each backend.
 *
 * - `tx(fn)` runs `fn` as one transaction over the repositories it is given (`r`): its writes
 *   happen together or not at all, and a throw undoes them. Inside `fn`, use only `r`, never
 *   `repos`, and await nothing but `r`'s calls: no HTTP call, no timer.
 * - `repos` are for work outside a transaction: each call stands alone.
 * - Nothing may be acknowledged before it is durable: wait for `settled()` (or register
 *   `afterCommit`) after a `tx`. On SQLite a transaction joins the group commit's batch and is
 *   durable when the batch commits; on PostgreSQL its COMMIT is the durability point.
 * @example
 * const refund = await store.tx(async (r) => {
 *   const p = await r.payments.get(id);
 *   await r.payments.insertRefund({ ... });
 *   return r.payments.getRefund(refundId);
 * });
 * await store.settled(); // now it may be acknowledged
 */
export interface Store {
  readonly repos: Repos;
  tx<T>(fn: (r: Repos) => Promise<T>): Promise<T>;
  /** Resolves once every write made so far is durable; rejects if their commit failed. */
  settled(): Promise<void>;
  /** Runs `fn` once the writes made so far are durable; dropped if their commit fails. */
  afterCommit(fn: () => void): void;
}
