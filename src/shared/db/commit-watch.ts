import type { Db } from './open.js';

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Reports each durable commit that one connection makes *outside* a group-commit batch, where
 * no COMMIT of ours marks it:
 * - a write statement run outside any transaction, which SQLite commits by itself (the outbox
 *   deliverer's bookkeeping, `markChecked`, a journal entry written after an upstream call when
 *   no batch happens to be open);
 * - an outermost `db.transaction(...)` that changed something (`immediateCommit`: the purge job);
 * - `db.exec` outside a transaction that changed something.
 * A batch's COMMIT is reported by the group commit's `onCommitted`; together they are every
 * commit of the connection. Writes that join an open batch are not commits of their own.
 *
 * This is test instrumentation for the crash suite: it wraps `prepare`, `transaction` and `exec`
 * of this one connection, so install it before the statements it should see are prepared, and
 * only when a listener needs it. Not installed, nothing is wrapped and nothing costs.
 * @example
 * const db = openDatabase(path); migrate(db);
 * watchCommits(db, () => count++);
 * const group = createGroupCommit(db, { onCommitted: () => count++ });
 */
export function watchCommits(db: Db, onCommit: () => void): void {
  const prepare = db.prepare.bind(db);
  const transaction = db.transaction.bind(db);
  const exec = db.exec.bind(db);
  const totalChanges = prepare('SELECT total_changes()').pluck();
  const changes = (): number => totalChanges.get() as number;

  /** Runs `fn`; reports a commit when it started outside a transaction and changed something. */
  const counted = <F extends AnyFn>(fn: F): F =>
    function (this: unknown, ...args: unknown[]) {
      if (db.inTransaction) return fn.apply(this, args);
      const before = changes();
      const result = fn.apply(this, args);
      if (!db.inTransaction && changes() > before) onCommit();
      return result;
    } as F;

  db.prepare = ((source: string) => {
    const statement = prepare(source);
    if (statement.reader) return statement;
    const run = statement.run.bind(statement) as AnyFn;
    // `changes` of the run itself says whether it wrote: no extra query on the hot path.
    statement.run = ((...args: unknown[]) => {
      const outside = !db.inTransaction;
      const info = run(...args) as { changes: number };
      if (outside && info.changes > 0 && !db.inTransaction) onCommit();
      return info;
    }) as typeof statement.run;
    return statement;
  }) as Db['prepare'];

  db.transaction = ((fn: AnyFn) => {
    const made = transaction(fn) as unknown as AnyFn & Record<'deferred' | 'immediate' | 'exclusive', AnyFn>;
    const wrapped = counted(made);
    for (const variant of ['deferred', 'immediate', 'exclusive'] as const) Object.defineProperty(wrapped, variant, { value: counted(made[variant]) });
    Object.defineProperty(wrapped, 'default', { value: wrapped });
    return wrapped;
  }) as unknown as Db['transaction'];

  db.exec = counted(exec as AnyFn) as Db['exec'];
}
