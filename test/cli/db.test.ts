import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { acquireDatabaseLock } from '../../src/shared/db/daemon-lock.js';
import { MIGRATIONS } from '../../src/shared/db/migrations.js';
import { LATEST_VERSION, migrate, openDatabase } from '../../src/shared/db/open.js';
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

  it('status reads the schema version against this build\'s: exit 0 when up to date, 1 when it needs db migrate (or does not exist)', async () => {
    const current = await runTb(['db', 'status', '--json', '--config', config]);
    expect(current.code, current.stderr).toBe(0);
    expect(current.json()).toEqual({ kind: 'sqlite', database: join(dir, 'tb.db'), server: null, schemaVersion: LATEST_VERSION, latest: LATEST_VERSION, writtenBy: 'unknown', upToDate: true });
    const older = join(dir, 'older.db');
    const db = openDatabase(older);
    migrate(db, MIGRATIONS.filter((m) => m.version <= 4), { appVersion: '0.1.0' });
    db.close();
    const behind = await runTb(['db', 'status', '--config', writeConfig(dir, baseConfig(dir, { database: { path: older } }), 'older.json')]);
    expect(behind.code).toBe(1);
    expect(behind.stdout).toBe(`database: ${older}\nschema version: 4 (migrated by tenderbridge 0.1.0); this build needs ${LATEST_VERSION}: run \`tenderbridge db migrate\`\n`);
    const missing = await runTb(['db', 'status', '--config', writeConfig(dir, baseConfig(dir, { database: { path: join(dir, 'none.db') } }), 'none.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
    expect(existsSync(join(dir, 'none.db'))).toBe(false);
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

describe('tenderbridge db restore', () => {
  let rdir: string;
  let rconfig: string;
  let live: string;
  const terminalsIn = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare('SELECT id FROM terminals ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
    } finally {
      db.close();
    }
  };
  const addTerminal = (id: string) => {
    const db = new Database(live);
    db.prepare("INSERT INTO terminals (id, store_id, api_key_hash, display_profile, source, created_at, updated_at) VALUES (?, 'S1', ?, '{}', 'cli', 1, 1)").run(id, `sha256:${id}`);
    db.close();
  };

  beforeEach(async () => {
    rdir = tempDir();
    rconfig = writeConfig(rdir, baseConfig(rdir));
    live = join(rdir, 'tb.db');
    expect((await runTb(['db', 'migrate', '--config', rconfig])).code).toBe(0);
    addTerminal('T1');
    expect((await runTb(['db', 'backup', join(rdir, 'monday.db'), '--config', rconfig])).code).toBe(0);
    addTerminal('T2');
  });
  afterEach(() => rmSync(rdir, { recursive: true, force: true }));

  it('puts a backup back after checking it, and keeps the database it replaced', async () => {
    const run = await runTb(['db', 'restore', 'monday.db', '--config', rconfig], { cwd: rdir, clock: () => Date.UTC(2026, 10, 20, 9, 30) });
    expect(run.code, run.stderr).toBe(0);
    const aside = `${live}.replaced-20261120T093000.000Z`;
    expect(run.stdout).toContain(`restored ${join(rdir, 'monday.db')} (schema version ${LATEST_VERSION}, no payments; integrity check ok) into ${live}`);
    expect(run.stdout).toContain(`the database it replaced is kept as ${aside}`);
    expect(terminalsIn(live)).toEqual(['T1']);
    expect(terminalsIn(aside)).toEqual(['T1', 'T2']);
    expect(readdirSync(rdir).filter((n) => n.includes('restoring') || n.includes('partial'))).toEqual([]);
    // the daemon's CLI works on the restored database
    expect((await runTb(['db', 'migrate', '--config', rconfig])).stdout).toContain('up to date');
  });

  it('refuses while the daemon runs (it holds the database lock), changing nothing', async () => {
    const daemon = acquireDatabaseLock(live, 'tenderbridge daemon');
    try {
      const run = await runTb(['db', 'restore', join(rdir, 'monday.db'), '--config', rconfig]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('the daemon is running');
      expect(run.stderr).toContain('systemctl stop tenderbridge');
    } finally {
      daemon.release();
    }
    expect(terminalsIn(live)).toEqual(['T1', 'T2']);
  });

  it('refuses a damaged backup, or a file that is no tenderbridge database, changing nothing', async () => {
    const damaged = join(rdir, 'damaged.db');
    const bytes = readFileSync(join(rdir, 'monday.db'));
    // every b-tree page header after the first page (which SQLite needs to open the file at all)
    for (let page = 4096; page < bytes.length; page += 4096) bytes.fill(0xa5, page, page + 12);
    writeFileSync(damaged, bytes);
    const notSqlite = join(rdir, 'notes.db');
    writeFileSync(notSqlite, 'this is not a database '.repeat(300));
    const otherApp = join(rdir, 'other-app.db');
    new Database(otherApp).exec('CREATE TABLE t (x)').close();
    // damage only a full integrity check sees (quick_check does not compare indexes with their tables)
    const skewed = join(rdir, 'skewed.db');
    writeFileSync(skewed, readFileSync(join(rdir, 'monday.db')));
    const skew = new Database(skewed);
    skew.exec('CREATE INDEX terminals_store ON terminals (store_id)');
    const { rootpage } = skew.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'terminals_store'").get() as { rootpage: number };
    const pageSize = skew.pragma('page_size', { simple: true }) as number;
    skew.close();
    // the index says T1 stands in store S9; the table still says S1
    const image = readFileSync(skewed);
    const page = image.subarray((rootpage - 1) * pageSize, rootpage * pageSize);
    page.write('S9', page.indexOf('S1'));
    writeFileSync(skewed, image);
    for (const [file, why] of [
      [skewed, /failed its integrity check \(.*terminals_store/],
      [damaged, /failed its integrity check|not a readable SQLite database/],
      [notSqlite, /not a readable SQLite database|cannot be opened/],
      [otherApp, /is not a tenderbridge database/],
    ] as const) {
      const run = await runTb(['db', 'restore', file, '--config', rconfig]);
      expect(run.code, file).toBe(1);
      expect(run.stderr, file).toMatch(why);
      expect(run.stderr, file).toContain('nothing was changed');
    }
    expect(terminalsIn(live)).toEqual(['T1', 'T2']);
    expect(readdirSync(rdir).filter((n) => n.includes('.replaced-'))).toEqual([]);
  });

  it('refuses a backup newer than this build, naming both schema versions and the tenderbridge that wrote it', async () => {
    const future = join(rdir, 'future.db');
    const db = openDatabase(future);
    migrate(db, [...MIGRATIONS, { version: LATEST_VERSION + 1, name: 'next', sql: 'CREATE TABLE next_thing (x INTEGER);' }], { appVersion: '9.1.0' });
    db.close();
    const run = await runTb(['db', 'restore', future, '--config', rconfig], { build: { version: '0.2.0', commit: null, node: process.version } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`is at schema version ${LATEST_VERSION + 1}, written by tenderbridge 9.1.0; this is tenderbridge 0.2.0, which knows schema versions up to ${LATEST_VERSION}`);
    expect(terminalsIn(live)).toEqual(['T1', 'T2']);
  });
});
