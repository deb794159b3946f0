import { fillDisk } from './disk.js';
import type { Harness } from './harness.js';

/** The tables a payment's writes reach: a full database refuses every change to them. */
const TABLES = ['payments', 'payment_events', 'refunds', 'outbox', 'idempotency_keys', 'electrum_qr_codes', 'electrum_messages', 'electrum_payments'];

/**
 * Makes the harness daemon's database refuse every write, as a full disk does, while reads
 * still answer; resolves to the function that makes room again.
 *
 * - SQLite: the file itself is full (`fillDisk`): the next write fails with SQLITE_FULL.
 * - PostgreSQL: the server refuses each row change of the payment tables with SQLSTATE 53100
 *   (`disk_full`, what a server out of space answers), raised by triggers the release drops.
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
  // One round trip: the database is full from one moment on, as a disk fills.
  await h.sql(`CREATE FUNCTION test_database_full() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file: No space left on device (test)' USING ERRCODE = 'disk_full'; END; $$;
    ${TABLES.map((table) => `CREATE TRIGGER test_database_full BEFORE INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION test_database_full();`).join('\n    ')}`);
  return async () => {
    await h.sql('DROP FUNCTION test_database_full() CASCADE');
  };
}
