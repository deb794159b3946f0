import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walHasFrames } from '../../src/shared/db/integrity-check.js';
import { daemonProcess, writeDaemonConfig } from '../chaos/daemon-process.js';
import { eventually } from '../support/harness.js';
import { call } from '../support/http.js';
import { freePort } from '../support/ports.js';

// SQLite's integrity check reads every page of the file: minutes for a big one, which before
// serving kept a store from taking a payment. The built daemon checks before serving only a file
// its last run did not close (SQLite has just recovered its WAL); a cleanly closed file is
// checked on a thread while the daemon serves, and damage found takes it out of readiness.

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let dbPath: string;
let readyz: () => Promise<{ status: number; body: { status: string; checks: Record<string, { ok: boolean; detail?: string }> } }>;
let daemon: ReturnType<typeof daemonProcess>;
let metric: () => Promise<string>;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-integrity-'));
  const port = await freePort();
  // PartPay is never called here: no payment is taken.
  const config = writeDaemonConfig(dir, port, 'http://127.0.0.1:9');
  dbPath = join(dir, 'chaos.db');
  daemon = daemonProcess(config, dir, { readyWithinMs: 40_000 });
  readyz = () => call(`http://127.0.0.1:${port}/readyz`) as never;
  metric = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
});
afterAll(async () => {
  await daemon.stop('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** Leaves the file as a killed daemon does: a write committed to the WAL, and no close. */
function killMidRun(path: string): void {
  const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(path)}); db.exec('CREATE TABLE IF NOT EXISTS killed_mid_run (at INTEGER)'); db.prepare('INSERT INTO killed_mid_run VALUES (?)').run(Date.now()); process.kill(process.pid, 'SIGKILL');`;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
  expect(run.signal, run.stderr).toBe('SIGKILL');
  expect(walHasFrames(path)).toBe(true);
}

/** Garbles the page header of the (empty) refunds table's root page: quick_check finds it, start-up never reads it. */
function damage(path: string): void {
  expect(existsSync(`${path}-wal`), 'the file is damaged only when closed').toBe(false);
  const db = new Database(path, { readonly: true });
  const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'refunds'").get() as { rootpage: number };
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  const bytes = readFileSync(path);
  bytes.fill(0xa5, (rootpage - 1) * pageSize, (rootpage - 1) * pageSize + 8);
  writeFileSync(path, bytes);
}

describe('the integrity check at start, as the built daemon runs it', () => {
  it('after a clean stop (no WAL left), serves at once and checks the file on a thread', async () => {
    await daemon.start();
    expect(await daemon.stop('SIGTERM')).toBe(0);
    expect(existsSync(`${dbPath}-wal`), 'a clean stop leaves no WAL').toBe(false);
    await daemon.start();
    await eventually(() => daemon.output().includes('database integrity checked while serving: ok'), 20_000);
    expect(daemon.output()).not.toContain('checking it before serving');
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.checks['integrity']).toEqual({ ok: true, detail: expect.stringMatching(/^integrity checked while serving in \d+\.\d s$/) });
    expect(await metric()).toMatch(/^tenderbridge_db_integrity_ok 1$/m);
    expect(await daemon.stop('SIGTERM')).toBe(0);
  });

  it('after an unclean stop (a WAL holding frames), checks the file before serving', async () => {
    killMidRun(dbPath);
    await daemon.start();
    expect(daemon.output()).toContain('the last run did not close the database cleanly: checking it before serving');
    const ready = await readyz();
    expect(ready.status).toBe(200);
    // Checked already: nothing runs while serving.
    expect(ready.body.checks['integrity']).toBeUndefined();
    expect(daemon.output()).not.toContain('checked while serving');
    expect(await daemon.stop('SIGTERM')).toBe(0);
  });

  it('damage found while serving takes the daemon out of readiness, naming the restore', async () => {
    damage(dbPath);
    await daemon.start();
    await eventually(async () => (await readyz()).status === 503, 20_000);
    const ready = await readyz();
    expect(ready.body.status).toBe('not_ready');
    expect(ready.body.checks['integrity']).toEqual({ ok: false, detail: expect.stringMatching(/^the database failed its integrity check \(.+\): restore the latest backup \(see README, "Backup and restore"\)$/) });
    // The alert TenderbridgeDatabaseDamaged fires on this.
    expect(await metric()).toMatch(/^tenderbridge_db_integrity_ok 0$/m);
    expect(daemon.output()).toMatch(/"level":"error","message":"database \S+ failed its integrity check \(database disk image is malformed\): this daemon is not ready until it is restored/);
    expect(await daemon.stop('SIGTERM')).toBe(0);
  });

  it('damage in a file its last run did not close is refused before serving', async () => {
    killMidRun(dbPath);
    await expect(daemon.start()).rejects.toThrow(/exited with 1 while starting/);
    expect(daemon.output()).toMatch(/failed its integrity check \(.+\); restore the latest backup/);
  });
});
