import type { Queryable } from '../../shared/db/postgres/pool.js';

type Row = Record<string, unknown>;

/** The rows a query answers. */
export async function all(q: Queryable, sql: string, args: readonly unknown[]): Promise<Row[]> {
  return (await q.query(sql, args as unknown[])).rows as Row[];
}

/** The first row a query answers, or null. */
export async function one(q: Queryable, sql: string, args: readonly unknown[]): Promise<Row | null> {
  return ((await q.query(sql, args as unknown[])).rows[0] as Row | undefined) ?? null;
}

/** Runs a statement; answers how many rows it changed. */
export async function run(q: Queryable, sql: string, args: readonly unknown[]): Promise<number> {
  return (await q.query(sql, args as unknown[])).rowCount ?? 0;
}
