import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDaemon } from '../../src/daemon.js';
import { parseConfig } from '../../src/shared/config/load.js';
import { createLogger } from '../../src/shared/logger.js';
import { baseConfig } from '../cli/support.js';
import { preMigrationName } from '../../src/shared/db/backup.js';
import { acquireDatabaseLock, DatabaseInUseError, isDatabaseLocked, lockPathFor } from '../../src/shared/db/daemon-lock.js';
import { MIGRATIONS } from '../../src/shared/db/migrations.js';
import { DatabaseError, LATEST_VERSION, migrate, openDatabase, schemaVersion, type Db } from '../../src/shared/db/open.js';
import { upgradeDatabase } from '../../src/shared/db/upgrade.js';

const BETTER_SQLITE3 = JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'));
let dir: string;
const opened: Db[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-upgrade-'));
});
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A database as the previous release (schema 3) left it, with one terminal in it. */
function previousRelease(name = 'tb.db'): Db {
  const db = openDatabase(join(dir, name));
  opened.push(db);
  migrate(db, MIGRATIONS.filter((m) => m.version <= 3));
  db.prepare("INSERT INTO terminals (id, store_id, api_key_hash, display_profile, source, created_at, updated_at) VALUES ('T1', 'S1', 'sha256:x', '{}', 'cli', 1, 1)").run();
  return db;
}
const backupsIn = (folder: string) => readdirSync(folder).filter((n) => n.includes('.pre-migration-')).sort();

describe('upgrading the database at start-up', () => {
  it('copies a database that holds data beside it before migrating, and records which build migrated it', () => {
    const db = previousRelease();
    const at = Date.UTC(2026, 10, 20, 3, 17);
    const result = upgradeDatabase(db, { appVersion: '0.3.0', keepBackups: 3, now: () => at });
    expect(result.from).toBe(3);
    expect(result.applied).toEqual(MIGRATIONS.filter((m) => m.version > 3).map((m) => m.version));
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(result.backup?.file).toBe(join(dir, 'tb.db.pre-migration-20261120T031700.000Z-schema3.db'));
    // the copy is the database as it was: schema 3, its rows, one self-contained file
    const copy = new Database(result.backup?.file ?? '', { readonly: true });
    expect(copy.pragma('user_version', { simple: true })).toBe(3);
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(copy.prepare('SELECT id FROM terminals').all()).toEqual([{ id: 'T1' }]);
    copy.close();
    expect(db.prepare('SELECT version, app_version FROM schema_history').all()).toEqual(MIGRATIONS.filter((m) => m.version > 3).map((m) => ({ version: m.version, app_version: '0.3.0' })));
  });

  it('keeps only the newest keepBackups copies, and nothing else of the folder is touched', () => {
    const names: string[] = [];
    // another database's copy, and a note that merely looks like one
    const strangers = ['other.db.pre-migration-20200101T000000.000Z-schema3.db', 'tb.db.pre-migration-notes.txt'];
    for (const name of strangers) writeFileSync(join(dir, name), 'keep me');
    for (let i = 0; i < 5; i += 1) {
      const db = previousRelease(`tb.db`);
      upgradeDatabase(db, { appVersion: '0.3.0', keepBackups: 3, now: () => Date.UTC(2026, 0, 1 + i) });
      names.push(preMigrationName(join(dir, 'tb.db'), 3, Date.UTC(2026, 0, 1 + i)));
      db.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `tb.db${suffix}`), { force: true });
    }
    expect(backupsIn(dir).filter((n) => !strangers.includes(n))).toEqual(names.slice(2));
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(strangers));
  });

  it('takes no copy of a new, empty database, or when keepBackups is 0', () => {
    const fresh = openDatabase(join(dir, 'new.db'));
    opened.push(fresh);
    expect(upgradeDatabase(fresh, { appVersion: '0.3.0', keepBackups: 3 }).backup).toBeNull();
    const db = previousRelease();
    expect(upgradeDatabase(db, { appVersion: '0.3.0', keepBackups: 0 }).backup).toBeNull();
    expect(backupsIn(dir)).toEqual([]);
  });

  it('does not migrate when the copy fails: the database stays at its version', () => {
    const db = previousRelease();
    const at = Date.UTC(2026, 5, 1);
    // something in the way of the copy's temporary file (as a full disk would be)
    mkdirSync(join(dir, `${preMigrationName(join(dir, 'tb.db'), 3, at)}.partial-${process.pid}`));
    expect(() => upgradeDatabase(db, { appVersion: '0.3.0', keepBackups: 3, now: () => at })).toThrow(/not migrating .*tb\.db from schema version 3 to \d+: the backup taken first failed/);
    expect(schemaVersion(db)).toBe(3);
  });

  it('refuses a database newer than this build, naming both schema versions and both tenderbridge versions', () => {
    const db = openDatabase(join(dir, 'future.db'));
    opened.push(db);
    const future = [...MIGRATIONS, { version: LATEST_VERSION + 1, name: 'from the future', sql: 'CREATE TABLE future (x INTEGER);' }];
    migrate(db, future, { appVersion: '9.1.0' });
    let error: unknown;
    try {
      upgradeDatabase(db, { appVersion: '0.2.0', keepBackups: 3 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toContain(`is at schema version ${LATEST_VERSION + 1}, written by tenderbridge 9.1.0; this is tenderbridge 0.2.0, which knows schema versions up to ${LATEST_VERSION}`);
    expect((error as Error).message).toContain('tenderbridge db restore');
    expect(schemaVersion(db)).toBe(LATEST_VERSION + 1);
  });
});

describe('the daemon at start-up', () => {
  const daemonOn = (path: string, version: string) => {
    const config = parseConfig(baseConfig(dir, { database: { path } }), { source: 'test', env: {}, configDir: dir });
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', stream: new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }) });
    return { create: () => createDaemon(config, { logger, build: { version, commit: null, node: process.version }, processMetrics: false }), lines };
  };

  it('backs up a previous release database before migrating it, and says so in its log', async () => {
    previousRelease().close();
    const { create, lines } = daemonOn(join(dir, 'tb.db'), '0.3.0');
    const daemon = create();
    await daemon.stop();
    expect(backupsIn(dir)).toEqual([expect.stringMatching(/^tb\.db\.pre-migration-.*-schema3\.db$/)]);
    expect(lines.join('')).toContain('database backed up before migrating');
    expect(lines.join('')).toContain(`"versions":${JSON.stringify(MIGRATIONS.filter((m) => m.version > 3).map((m) => m.version))}`);
  });

  it('refuses to start on a database written by a newer tenderbridge, naming both versions', () => {
    const db = openDatabase(join(dir, 'future.db'));
    migrate(db, [...MIGRATIONS, { version: LATEST_VERSION + 1, name: 'next', sql: 'CREATE TABLE next_thing (x INTEGER);' }], { appVersion: '9.1.0' });
    db.close();
    expect(() => daemonOn(join(dir, 'future.db'), '0.2.0').create()).toThrow(`written by tenderbridge 9.1.0; this is tenderbridge 0.2.0, which knows schema versions up to ${LATEST_VERSION}`);
  });
});

describe('the database lock (daemon and db restore)', () => {
  it('is exclusive: a second holder is refused, in this process and in another one, until released', () => {
    const path = join(dir, 'tb.db');
    expect(isDatabaseLocked(path)).toBe(false);
    const lock = acquireDatabaseLock(path, 'test daemon');
    expect(isDatabaseLocked(path)).toBe(true);
    expect(() => acquireDatabaseLock(path, 'second')).toThrow(DatabaseInUseError);
    const probe = `const D = require(${BETTER_SQLITE3}); const d = new D(${JSON.stringify(lockPathFor(path))}, { readonly: true, timeout: 0 });
      try { d.prepare('SELECT 1 FROM sqlite_schema').get(); console.log('free'); } catch (e) { console.log(e.code); }`;
    expect(spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).stdout.trim()).toBe('SQLITE_BUSY');
    lock.release();
    expect(isDatabaseLocked(path)).toBe(false);
    acquireDatabaseLock(path, 'after release').release();
  });

  it('is dropped by the kernel when its process dies, however it dies', async () => {
    const path = join(dir, 'tb.db');
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { acquireDatabaseLock } from ${JSON.stringify(new URL('../../src/shared/db/daemon-lock.ts', import.meta.url).pathname)}; acquireDatabaseLock(${JSON.stringify(path)}, 'doomed'); console.log('held'); setInterval(() => {}, 1000);`], {
      env: { ...process.env, NODE_OPTIONS: '--import tsx' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => holder.stdout?.on('data', (d: Buffer) => d.toString().includes('held') && resolve()));
    expect(isDatabaseLocked(path)).toBe(true);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    expect(isDatabaseLocked(path)).toBe(false);
  });
});
