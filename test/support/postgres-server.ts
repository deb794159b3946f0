import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type TestPostgres } from './postgres.js';

/**
 * A throwaway PostgreSQL server for the suite it is called in: started before its tests (given
 * two minutes, as initdb is slow on a busy box) and stopped after them. Returns the server, to be
 * read inside tests and hooks.
 * @example const server = usePostgresServer(); it('...', async () => { const url = await server().createDatabase(); });
 */
export function usePostgresServer(): () => TestPostgres {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the PostgreSQL server is not started yet: read it inside a test or hook');
    return server;
  };
}
