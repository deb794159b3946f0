import { fillDisk } from './disk.js';
import type { Harness } from './harness.js';

/** The tables a payment's writes reach. */
const TABLES = ['payments', 'payment_events', 'refunds', 'outbox', 'idempotency_keys', 'electrum_qr_codes', 'electrum_messages', 'electrum_payments'];

/**
 * Makes the harness daemon's database full, as a full disk does: nothing can grow any more,
 * reads still answer; resolves to the function that makes room again.
 *
 * - SQLite: the file itself is full (`fillDisk`): no page can be added, and the next write of
 *   the journal (which every change writes) fails with SQLITE_FULL.
 * - PostgreSQL: the server refuses every new row of the payment tables with SQLSTATE 53100
 *   (`disk_full`, what a server out of space answers), raised by triggers the release drops.
 *   Every change the daemon records journals a row, so each is refused; an update in place (an
 *   outbox claim) still fits, as it may on a full disk, so an owed delivery can go out and
 *   then fail to be recorded, and a delivery wrongly made a dead letter would show.
 *
 * Either way the failure comes from the database, through the daemon's own storage code.
 * @example
 * const free = await fillDatabase(h);
 * try { expect((await pos.reverse(reversal)).status).toBe(503); } finally { await free(); }
 */
export async function fillDatabase(h: Pick<Harness, 'backend' | 'daemon' | 'sql'>): Promise<() => Promise<void>> {
  if (h.backend === 'sqlite') {
    const free = fillDisk(h.daemon.db);
    return async () => free();
  }
  // One round trip: the database is full from one moment on, as a disk fills up.
  await retryDeadlock(() => h.sql(`CREATE FUNCTION test_database_full() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file: No space left on device (test)' USING ERRCODE = 'disk_full'; END; $$;
    ${TABLES.map((table) => `CREATE TRIGGER test_database_full BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION test_database_full();`).join('\n    ')}`));
  return async () => {
    await retryDeadlock(() => h.sql('DROP FUNCTION test_database_full() CASCADE'));
  };
}

/**
 * Creating or dropping the triggers locks the eight tables one after another, while the daemon's
 * jobs (outbox, readiness probe) lock some of them in their own order: the server may break the
 * cycle by failing our statement (SQLSTATE 40P01, deadlock_detected), which then changed nothing.
 */
async function retryDeadlock<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
    }
  }
}
