import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { POSTGRES_ROOT, postgresBinDir } from './postgres-bin.js';

/**
 * A throwaway PostgreSQL server for one test file, from the Debian `postgresql` binaries: a
 * cluster in a temporary directory, listening on 127.0.0.1 at a free port (and a unix socket
 * inside that directory), durable as production is (`fsync=on`, `synchronous_commit=on`).
 * initdb refuses root, so as root the server runs as the `postgres` user the package creates.
 */

/** How long `stop()` lets open sessions end before it cuts them (PostgreSQL's fast shutdown). */
const STOP_GRACE_MS = 5_000;

/** A running throwaway server. */
export interface TestPostgres {
  /** Superuser URL of the `postgres` database (with its password). */
  url: string;
  /** The superuser's password (tests check it never reaches output). */
  password: string;
  /** The postmaster's process id (the benchmark counts the server's CPU from it). */
  pid: number;
  /** A URL of a fresh, empty database on this server. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** The uid/gid the server runs as: the `postgres` user when we are root, else ourselves. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, and there is no "postgres" user to run PostgreSQL as (initdb refuses root): install the Debian package postgresql');
  return { uid: Number(uid), gid: Number(gid) };
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (attempt > 600) throw new Error(`postgres did not accept connections: ${(error as Error).message}\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Creates a cluster and starts it; call `stop()` in afterAll.
 * @example const server = await startPostgres(); const url = await server.createDatabase(); ... await server.stop();
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === null) throw new Error(`no PostgreSQL server under ${POSTGRES_ROOT}: install the Debian package postgresql`);
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  mkdirSync(sockets);
  const password = randomBytes(12).toString('hex');
  writeFileSync(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (user) for (const path of [dir, sockets, join(dir, 'pwfile')]) chownSync(path, user.uid, user.gid);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const initdb = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', `--pwfile=${join(dir, 'pwfile')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    cwd: dir,
    encoding: 'utf8',
    ...asUser,
  });
  if (initdb.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.status ?? initdb.signal}): ${initdb.stderr || initdb.error?.message}`);
  }
  rmSync(join(dir, 'pwfile'));

  let child: ChildProcess | null = null;
  let url = '';
  let output = '';
  for (let attempt = 1; child === null; attempt++) {
    const port = await freePort();
    output = '';
    const started = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', sockets, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on', '-c', 'synchronous_commit=on', '-c', 'max_connections=100'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asUser,
    });
    started.stdout.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr.on('data', (d: Buffer) => (output += d.toString()));
    url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    try {
      await waitReady(url, started, () => output);
      child = started;
    } catch (error) {
      started.kill('SIGKILL');
      // Another process may have taken the port between our probe and the server's bind.
      if (attempt >= 3 || !/could not bind|Address already in use/i.test(output)) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const server = child;
  let stopped = false;
  let databases = 0;
  return {
    url,
    password,
    pid: server.pid as number,
    createDatabase: (name = `tb_${process.pid}_${++databases}`) => createDatabaseOn(url, name),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (server.exitCode === null && server.signalCode === null) {
        // SIGTERM first: the smart shutdown lets sessions end on their own. A pool's end() resolves
        // before its sockets have closed, and a fast shutdown (SIGINT) then tells such a session
        // "terminating connection due to administrator command": pg raises that as an 'error' on
        // a client that is already ending, and it reaches the test as an uncaught exception. Only
        // a session still open after STOP_GRACE_MS (a leak) is cut by the fast shutdown.
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGTERM');
        const fast = setTimeout(() => server.kill('SIGINT'), STOP_GRACE_MS);
        await exited;
        clearTimeout(fast);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates an empty database on the server of `serverUrl` (a superuser URL, as {@link TestPostgres.url})
 * and answers its URL; the name is random unless given. Usable from any test worker.
 * @example const url = await createDatabaseOn(inject('postgresUrl'));
 */
export async function createDatabaseOn(serverUrl: string, name = `tb_${process.pid}_${randomBytes(6).toString('hex')}`): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${name}`;
  return dbUrl.toString();
}
