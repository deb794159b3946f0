import pg from 'pg';
import { expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The throwaway server every PostgreSQL suite starts (test/support/postgres.ts) must stop without
// raising anything in the suite: a pool's end() resolves before its sockets have closed, and a
// session the server cuts raises "terminating connection due to administrator command" on the
// client, which a suite's afterAll cannot catch (CI once failed on exactly that).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh server and one session on it, whose errors are collected rather than thrown. */
async function serverWithSession(): Promise<{ server: TestPostgres; client: pg.Client; errors: Error[] }> {
  const server = await startPostgres();
  const client = new pg.Client({ connectionString: server.url });
  const errors: Error[] = [];
  client.on('error', (error) => errors.push(error));
  await client.connect();
  return { server, client, errors };
}

describeWhenAvailable('the test PostgreSQL server', [tools.postgres()], () => {
  it('lets a session that is still open end on its own when stopped, and is gone once stop() resolves', async () => {
    const { server, client, errors } = await serverWithSession();
    const stopping = server.stop();
    await sleep(300);
    await client.end();
    await stopping;
    expect(errors.map((e) => e.message)).toEqual([]);
    const after = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2_000 });
    await expect(after.connect()).rejects.toThrow(/ECONNREFUSED|connect/);
  }, 60_000);

  it('cuts a session that never ends once the grace period is over, so a leaked connection cannot hang a suite', async () => {
    const { server, errors } = await serverWithSession();
    await server.stop(); // the session stays open: it is never ended
    await sleep(100);
    expect(errors.map((e) => e.message)).toContain('terminating connection due to administrator command');
  }, 60_000);
});
