import type { Harness } from './harness.js';

/**
 * Starts counting the rows the harness daemon's database writes (inserted, updated or deleted),
 * rolled back or not, and answers a function that reads the count so far: for "this writes
 * nothing" checks on either database. SQLite: the daemon connection's `total_changes()`.
 * PostgreSQL: a row trigger on every table of the daemon's schema advances a sequence, which no
 * rollback undoes (so a probe's rolled-back write counts, as it does in `total_changes()`).
 * @example
 * const writes = await countWrites(h);
 * await call(`${h.url}/readyz`);
 * expect(await writes()).toBe(0);
 */
export async function countWrites(h: Harness): Promise<() => Promise<number>> {
  if (h.backend === 'sqlite') {
    const total = async () => Number((await h.sql<{ n: number }>('SELECT total_changes() AS n'))[0]?.n);
    const start = await total();
    return async () => (await total()) - start;
  }
  await h.sql('CREATE SEQUENCE IF NOT EXISTS tb_test_writes');
  await h.sql("CREATE OR REPLACE FUNCTION tb_test_count_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('tb_test_writes'); RETURN NULL; END $$");
  await h.sql(`DO $$ DECLARE t text; BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
      EXECUTE format('CREATE OR REPLACE TRIGGER tb_test_count_writes AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION tb_test_count_write()', t);
    END LOOP;
  END $$`);
  const total = async () => {
    const [row] = await h.sql<{ last_value: number; is_called: boolean }>('SELECT last_value, is_called FROM tb_test_writes');
    return row?.is_called ? Number(row.last_value) : 0;
  };
  const start = await total();
  return async () => (await total()) - start;
}
