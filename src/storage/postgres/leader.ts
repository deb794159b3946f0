import type { PgPool } from '../../shared/db/postgres/pool.js';

import type { LeaderRun } from '../backend.js';

export type { LeaderRun };

/**
 * Runs a scheduled job on one daemon of those sharing the database: the one that takes the
 * job's advisory lock (a session lock on a connection of its own, held while `fn` runs, freed
 * by the server if this daemon dies). The others skip this run; every daemon schedules every
 * job, so whichever lives runs the next one.
 * @example const run = await runAsLeader(pool, 'purge', () => purge.run());
 */
export async function runAsLeader<T>(pool: PgPool, job: string, fn: () => Promise<T>): Promise<LeaderRun<T>> {
  const client = await pool.connect();
  let broken = false;
  try {
    const key = `tenderbridge:job:${job}`;
    const { rows } = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS taken', [key]);
    if (!rows[0]?.taken) return { ran: false };
    try {
      return { ran: true, value: await fn() };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {
        // A connection that cannot unlock is closed: the server frees its locks with it.
        broken = true;
      });
    }
  } finally {
    client.release(broken);
  }
}
