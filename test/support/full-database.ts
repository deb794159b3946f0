import type { Harness } from './harness.js';

/** What PostgreSQL answers a write it has no disk space for (SQLSTATE 53100, disk_full). */
const PG_DISK_FULL = "could not extend file: No space left on device";

/**
 * Makes the harness daemon's database refuse writes as a full disk does, and answers the
 * function that gives the space back. SQLite: the file is capped at its size and what is left
 * is filled, so the next writes fail with SQLITE_FULL (whatever still fits is written).
 * PostgreSQL: every table of the daemon's schema answers a write with the server's own
 * disk_full error (SQLSTATE 53100), as a server whose disk is full does.
 * @example
 * const freeSpace = await fillDatabase(h);
 * try { ... 503 storage_unavailable ... } finally { await freeSpace(); }
 */
export async function fillDatabase(h: Harness): Promise<() => Promise<void>> {
  if (h.backend === 'sqlite') {
    const db = h.daemon.db;
    db.exec('CREATE TABLE filler (x BLOB)');
    db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 2}`);
    const fill = db.prepare('INSERT INTO filler VALUES (randomblob(?))');
    for (const size of [4000, 1000, 200, 50, 10, 1, 0]) {
      try {
        for (;;) fill.run(size);
      } catch {
        // full at this size: try smaller ones to use up the last bytes
      }
    }
    return async () => {
      db.pragma('max_page_count = 1073741823');
      db.exec('DROP TABLE filler');
    };
  }
  await h.sql(`CREATE OR REPLACE FUNCTION tb_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${PG_DISK_FULL}' USING ERRCODE = 'disk_full'; END $$`);
  await h.sql(`DO $$ DECLARE t text; BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
      EXECUTE format('CREATE TRIGGER tb_test_disk_full BEFORE INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION tb_test_disk_full()', t);
    END LOOP;
  END $$`);
  return async () => {
    await h.sql(`DO $$ DECLARE t text; BEGIN
      FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS tb_test_disk_full ON %I', t);
      END LOOP;
    END $$`);
  };
}
