import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LATEST_VERSION } from '../../src/shared/db/open.js';
import { POSTGRES_MIGRATIONS } from '../../src/shared/db/postgres/migrations.js';
import { baseConfig, runTb, tempDir, writeConfig, type CliRun } from '../cli/support.js';
import { eventually, freePort } from '../support/harness.js';
import { createPostgresPool } from '../../src/shared/db/postgres/pool.js';
import { postgresStore } from '../../src/storage/postgres/store.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The CLI on a PostgreSQL database (database.kind "postgres"), against a real server this file
// starts: db migrate, db status, doctor and config check work; the commands that do not support
// it yet, and the daemon, refuse it by name; the URL's password never reaches the output.

const ROOT = resolve(import.meta.dirname, '../..');
type Doctor = { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };

describeWhenAvailable('the CLI on PostgreSQL', [tools.postgres()], () => {
  let server: TestPostgres;
  let dir: string;
  const runs: CliRun[] = [];

  /** A config naming the database through TENDERBRIDGE_DATABASE_URL, as the README shows. */
  function postgresConfig(name = 'pg.json'): string {
    return writeConfig(dir, baseConfig(dir, { database: { kind: 'postgres', url: { env: 'TENDERBRIDGE_DATABASE_URL' }, pool: { max: 2 } } }), name);
  }
  async function tb(argv: string[], url: string): Promise<CliRun> {
    const run = await runTb(argv, { env: { TENDERBRIDGE_DATABASE_URL: url }, cwd: dir });
    runs.push(run);
    return run;
  }

  beforeAll(async () => {
    dir = tempDir();
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    // Whatever a command printed, the database password was never part of it.
    for (const run of runs) expect(`${run.stdout}${run.stderr}`).not.toContain(server.password);
  });

  it('db migrate creates the schema, then finds it up to date; db status says so (exit 1 before, 0 after)', async () => {
    const url = await server.createDatabase();
    const config = postgresConfig();
    const before = await tb(['db', 'status', '--config', config], url);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(`schema version: 0; this build needs ${LATEST_VERSION}: run \`tenderbridge db migrate\``);
    expect(before.stdout).toMatch(/database: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/tb_\w+ \(PostgreSQL 1\d\.\d+/);

    const first = await tb(['db', 'migrate', '--json', '--config', config], url);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ kind: 'postgres', from: 0, applied: POSTGRES_MIGRATIONS.map((m) => m.version), version: LATEST_VERSION, backup: null, database: expect.stringContaining(':***@127.0.0.1:') });
    const again = await tb(['db', 'migrate', '--config', config], url);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^PostgreSQL database postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/tb_\\w+ is up to date \\(schema version ${LATEST_VERSION}\\)\\n$`));

    const status = await tb(['db', 'status', '--json', '--config', config], url);
    expect(status.code).toBe(0);
    expect(status.json()).toMatchObject({ kind: 'postgres', schemaVersion: LATEST_VERSION, latest: LATEST_VERSION, upToDate: true, writtenBy: expect.any(String), server: expect.stringMatching(/^PostgreSQL \d+/) });

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const tables = await client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('payments', 'payment_counts', 'electrum_payments')");
    await client.end();
    expect(tables.rows).toEqual([{ n: 3 }]);
  });

  it('doctor checks the server: connects, schema version, durable commits, writable; and warns when synchronous_commit is off', async () => {
    const url = await server.createDatabase();
    const config = postgresConfig();
    await tb(['db', 'migrate', '--config', config], url);
    const run = await tb(['doctor', '--json', '--config', config], url);
    const doc = run.json<Doctor>();
    const line = (name: string) => doc.checks.find((c) => c.name === name);
    expect(line('database connects')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^PostgreSQL 1\d\.\d+ .*at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\//) });
    expect(line('database schema')).toEqual({ name: 'database schema', status: 'ok', detail: `version ${LATEST_VERSION}` });
    expect(line('database durability')).toEqual({ name: 'database durability', status: 'ok', detail: 'synchronous_commit on, fsync on' });
    expect(line('database writable')).toMatchObject({ status: 'ok' });
    expect(line('outbox')).toMatchObject({ status: 'warn', detail: 'not checked on PostgreSQL in this build yet' });

    const off = new URL(url);
    off.searchParams.set('options', '-c synchronous_commit=off');
    const warned = (await tb(['doctor', '--json', '--config', config], off.toString())).json<Doctor>();
    expect(warned.checks.find((c) => c.name === 'database durability')).toMatchObject({ status: 'warn', detail: expect.stringContaining('synchronous_commit is off: a payment answered may be lost if the server crashes') });

    const empty = (await tb(['doctor', '--json', '--config', config], await server.createDatabase())).json<Doctor>();
    expect(empty.checks.find((c) => c.name === 'database schema')).toMatchObject({ status: 'fail', detail: `version 0, this build has ${LATEST_VERSION}: run \`tenderbridge db migrate\`` });
  });

  it('says which server refused and why (wrong password, no server), never showing the password', async () => {
    const config = postgresConfig();
    const url = await server.createDatabase();
    const wrong = url.replace(`:${server.password}@`, ':not-the-password@');
    const refused = await tb(['db', 'migrate', '--config', config], wrong);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/tb_\w+: password authentication failed for user "postgres" \(SQLSTATE 28P01\)\n$/);
    expect(refused.stderr).not.toContain('not-the-password');
    const closed = new URL(url);
    closed.port = String(await freePort());
    const nobody = await tb(['db', 'status', '--config', config], closed.toString());
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/^error: PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/tb_\w+: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);
    const doctor = (await tb(['doctor', '--json', '--config', config], wrong)).json<Doctor>();
    expect(doctor.checks.find((c) => c.name === 'database connects')).toMatchObject({ status: 'fail', detail: expect.stringContaining('password authentication failed') });
  });

  it('config check shows the URL without its password; file-only commands (backup) refuse PostgreSQL by name', async () => {
    const url = await server.createDatabase();
    const config = postgresConfig();
    const check = await tb(['config', 'check', '--config', config], url);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/database: PostgreSQL postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/tb_\w+\n/);
    const json = await tb(['config', 'check', '--json', '--config', config], url);
    expect(json.json<{ config: { database: unknown } }>().config.database).toEqual({ kind: 'postgres', url: '[env TENDERBRIDGE_DATABASE_URL]', pool: { max: 2, idleTimeoutMs: 30_000, connectionTimeoutMs: 5_000, statementTimeoutMs: 30_000 } });

    const backup = await tb(['db', 'backup', join(dir, 'x.db'), '--config', config], url);
    expect(backup.code).toBe(1);
    expect(backup.stderr).toContain('back it up and restore it with PostgreSQL\'s tools (pg_dump/pg_restore');
    const unset = await runTb(['db', 'migrate', '--config', config], { env: {}, cwd: dir });
    expect(unset.code).toBe(78);
    expect(unset.stderr).toContain('database.url: environment variable TENDERBRIDGE_DATABASE_URL is not set');
  });

  it('lists, shows, reports and resolves payments on PostgreSQL as on SQLite', async () => {
    const url = await server.createDatabase();
    const config = postgresConfig();
    expect((await tb(['db', 'migrate', '--config', config], url)).code).toBe(0);
    const pool = createPostgresPool({ kind: 'postgres', url, pool: { max: 1, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
    const store = postgresStore(pool);
    const at = Date.parse('2026-03-10T10:00:00');
    await store.tx(async (r) => {
      await r.payments.insert({ id: 'pay-1', provider: 'partpay', terminalId: 'T1', storeId: 'S1', merchantId: 'm1', merchantReference: 'INV-1', amountMinor: 1250, currency: 'NZD', createdAt: at, expiresAt: at + 60_000 });
      await r.payments.journal({ paymentId: 'pay-1', at, kind: 'state_changed', actor: 'terminal:T1', fromState: null, toState: 'created', version: 1 });
      const p = (await r.payments.getForUpdate('pay-1'))!;
      const waiting = await r.payments.applyPatch(p, { state: 'awaiting_customer', upstreamOrderId: 'ord-1' }, at, null);
      await r.payments.applyPatch(waiting, { state: 'approved', approvedMinor: 1250 }, at + 1_000, 'callback');
    });
    await pool.end();
    const list = await tb(['payments', 'list', '--json', '--config', config], url);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json<{ payments: Array<{ id: string; state: string }> }>().payments.map((p) => [p.id, p.state])).toEqual([['pay-1', 'approved']]);
    const show = await tb(['payments', 'show', 'ord-1', '--config', config], url);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('pay-1');
    expect(show.stdout).toContain('- -> created'); // its journal
    const report = await tb(['report', '--date', '2026-03-10', '--json', '--config', config], url);
    expect(report.code, report.stderr).toBe(0);
    expect(report.json<{ totals: Array<{ currency: string; approvedCount: number; approvedMinor: number }> }>().totals).toEqual([expect.objectContaining({ currency: 'NZD', approvedCount: 1, approvedMinor: 1250 })]);

    // An operator's refund, left to the daemons: recorded once, owed in the shared outbox.
    const resolve = (reason: string) => tb(['payments', 'resolve', 'pay-1', '--action', 'refund', '--by', 'alice', '--reason', reason, '--defer', '--json', '--config', config], url);
    const resolved = await resolve('customer returned the goods');
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.json<{ result: string; refund: { amountMinor: number } }>()).toMatchObject({ result: 'refund_owed', refund: { amountMinor: 1250 } });
    const again = await resolve('asked twice');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/nothing left to refund|already/i);
    const check = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const owed = await check.query<{ kind: string; state: string }>("SELECT kind, state FROM outbox WHERE payment_id = 'pay-1'");
      expect(owed.rows).toEqual([{ kind: 'upstream.refund', state: 'pending' }]);
      const refunds = await check.query<{ amount_minor: number; state: string }>("SELECT amount_minor::int AS amount_minor, state FROM refunds WHERE payment_id = 'pay-1'");
      expect(refunds.rows).toEqual([{ amount_minor: 1250, state: 'pending' }]);
    } finally {
      await check.end();
    }
  });

  it('adds, lists, disables, enables and removes terminals on PostgreSQL', async () => {
    const url = await server.createDatabase();
    const config = postgresConfig();
    expect((await tb(['db', 'migrate', '--config', config], url)).code).toBe(0);
    const added = await tb(['terminals', 'add', 'LANE-7', '--store', 'S2', '--json', '--config', config], url);
    expect(added.code, added.stderr).toBe(0);
    const key = added.json<{ apiKey: string }>().apiKey;
    expect(key).toBeTruthy();
    const listed = () => tb(['terminals', 'list', '--json', '--config', config], url).then((r) => r.json<{ terminals: Array<{ id: string; disabled: boolean; source: string }> }>().terminals.find((t) => t.id === 'LANE-7'));
    expect(await listed()).toMatchObject({ id: 'LANE-7', disabled: false, source: 'cli' });
    expect((await tb(['terminals', 'add', 'LANE-7', '--store', 'S2', '--config', config], url)).stderr).toContain('already exists');
    expect((await tb(['terminals', 'disable', 'LANE-7', '--config', config], url)).code).toBe(0);
    expect(await listed()).toMatchObject({ disabled: true });
    expect((await tb(['terminals', 'enable', 'LANE-7', '--config', config], url)).code).toBe(0);
    const rotated = await tb(['terminals', 'rotate-key', 'LANE-7', '--json', '--config', config], url);
    expect(rotated.json<{ apiKey: string }>().apiKey).not.toBe(key);
    const removed = await tb(['terminals', 'remove', 'LANE-7', '--json', '--config', config], url);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await listed()).toBeUndefined();
  });

  it('two daemons start on one PostgreSQL database, the first creating its schema, each ready, and stop cleanly on SIGTERM', async () => {
    const url = await server.createDatabase();
    const ports = [await freePort(), await freePort()];
    const start = (port: number) => {
      const config = writeConfig(dir, { ...baseConfig(dir, { database: { kind: 'postgres', url: { env: 'TENDERBRIDGE_DATABASE_URL' }, pool: { max: 3 } } }), server: { host: '127.0.0.1', port }, terminals: [{ id: 'T1', store: 'S1', apiKey: 'fleet-key-1' }] }, `daemon-${port}.json`);
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), '--config', config, '--log-format', 'json'], {
        cwd: ROOT, // where tsx resolves
        env: { ...process.env, TENDERBRIDGE_DATABASE_URL: url, TENDERBRIDGE_CONFIG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
      return { child, exited, output: () => output };
    };
    const daemons = ports.map(start);
    try {
      for (const [i, port] of ports.entries()) {
        await eventually(() => daemons[i]?.output().includes('tenderbridge ready on'), 60_000, 100);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(ready.status, daemons[i]?.output()).toBe(200);
        // The terminal of the config authenticates on both: one registry, in the database.
        const terminal = await fetch(`http://127.0.0.1:${port}/v1/terminal`, { headers: { Authorization: 'Bearer fleet-key-1' } });
        expect(terminal.status).toBe(200);
        expect(await terminal.json()).toMatchObject({ id: 'T1', storeId: 'S1' });
      }
    } finally {
      for (const d of daemons) d.child.kill('SIGTERM');
    }
    for (const d of daemons) {
      expect(await d.exited, d.output()).toBe(0);
      expect(d.output()).toContain('connecting to PostgreSQL');
      expect(d.output()).not.toContain(server.password);
    }
    const pool = new pg.Pool({ connectionString: url });
    try {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM terminals');
      expect(rows[0]?.n).toBe(1);
    } finally {
      await pool.end();
    }
  }, 120_000);
});
