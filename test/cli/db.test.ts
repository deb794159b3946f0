import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION } from '../../src/shared/db/open.js';
import { baseConfig, runTb, tempDir, writeConfig } from './support.js';

let dir: string;
let config: string;

beforeAll(() => {
  dir = tempDir();
  config = writeConfig(dir, baseConfig(dir));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tenderbridge db', () => {
  it('refuses data commands before the database exists, and says how to create it', async () => {
    const run = await runTb(['payments', 'list', '--config', config]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('tenderbridge db migrate');
    expect(existsSync(join(dir, 'tb.db'))).toBe(false);
  });

  it('migrate creates the database, prints the versions applied, and is idempotent', async () => {
    const first = await runTb(['db', 'migrate', '--json', '--config', config]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ from: 0, version: LATEST_VERSION, applied: Array.from({ length: LATEST_VERSION }, (_, i) => i + 1) });
    const again = await runTb(['db', 'migrate', '--config', config]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`up to date (schema version ${LATEST_VERSION})`);
  });

  it('backs up the live database to a valid single-file copy', async () => {
    const live = new Database(join(dir, 'tb.db'));
    live.prepare("INSERT INTO terminals (id, store_id, api_key_hash, display_profile, source, created_at, updated_at) VALUES ('T1', 'S1', 'sha256:x', '{}', 'cli', 1, 1)").run();
    // held open with a write in the WAL, as the running daemon would
    const run = await runTb(['db', 'backup', 'backup.db', '--config', config], { cwd: dir });
    live.close();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/backup written to .*backup\.db \(\d+\.\d KiB, schema version \d+\), integrity check ok/);
    const copyPath = join(dir, 'backup.db');
    expect(existsSync(`${copyPath}-wal`)).toBe(false);
    const copy = new Database(copyPath, { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(copy.prepare('SELECT id FROM terminals').all()).toEqual([{ id: 'T1' }]);
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    copy.close();
  });

  it('refuses to overwrite an existing file unless --force', async () => {
    const target = join(dir, 'precious.db');
    writeFileSync(target, 'do not overwrite me');
    const refused = await runTb(['db', 'backup', target, '--config', config]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--force');
    expect(statSync(target).size).toBe('do not overwrite me'.length);
    const forced = await runTb(['db', 'backup', target, '--force', '--json', '--config', config]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json()).toMatchObject({ file: target, integrity: 'ok', schemaVersion: LATEST_VERSION });
    expect(statSync(target).size).toBeGreaterThan(4096);
  });
});
