import { chmodSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDatabaseFile, snapshotDatabase } from '../../src/shared/db/backup.js';
import { openDatabase } from '../../src/shared/db/open.js';
import { baseConfig, runTb, tempDir, writeConfig } from '../cli/support.js';
import { startHarness } from '../support/harness.js';

// Issue 17 item 5: outside systemd (UMask=0077), with the usual umask 022, the database, its
// WAL and SHM files and `tenderbridge db backup` copies were created 0644: readable by every
// local user, though they hold key hashes, partner payment tokens and raw callbacks.

const mode = (path: string) => statSync(path).mode & 0o777;
const octal = (path: string) => `${path.split('/').pop()}: ${mode(path).toString(8)}`;

let dir: string;
let umask: number;
beforeAll(() => {
  umask = process.umask(0o022);
  dir = tempDir();
});
afterAll(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

describe('files holding payment data are 0600 whatever the umask', () => {
  it('when the daemon creates its database (and WAL and SHM files)', async () => {
    const h = await startHarness();
    try {
      const files = [h.dbPath, `${h.dbPath}-wal`, `${h.dbPath}-shm`];
      expect(files.every(existsSync)).toBe(true);
      expect(files.map(octal)).toEqual(files.map((f) => `${f.split('/').pop()}: 600`));
    } finally {
      await h.stop();
    }
  });

  it('when `tenderbridge db migrate` creates it, and `db backup` copies it', async () => {
    const config = writeConfig(dir, baseConfig(dir));
    expect((await runTb(['db', 'migrate', '--config', config])).code).toBe(0);
    expect(octal(join(dir, 'tb.db'))).toBe('tb.db: 600');
    const backup = await runTb(['db', 'backup', 'copy.db', '--config', config], { cwd: dir });
    expect(backup.code, backup.stderr).toBe(0);
    expect(octal(join(dir, 'copy.db'))).toBe('copy.db: 600');
    // over an existing, world-readable file too
    writeFileSync(join(dir, 'old.db'), '');
    chmodSync(join(dir, 'old.db'), 0o644);
    expect((await runTb(['db', 'backup', 'old.db', '--force', '--config', config], { cwd: dir })).code).toBe(0);
    expect(octal(join(dir, 'old.db'))).toBe('old.db: 600');
  });

  it('when the daemon backs up before a migration and on its schedule', async () => {
    const path = join(dir, 'source.db');
    const db = openDatabase(path);
    try {
      db.exec('CREATE TABLE t (x)');
      // The two copies the daemon makes itself: VACUUM INTO before migrating, the backup API on the backup job.
      snapshotDatabase(db, join(dir, 'pre-migration.db'));
      await backupDatabaseFile(path, join(dir, 'scheduled.db'), 'quick');
      expect([octal(join(dir, 'pre-migration.db')), octal(join(dir, 'scheduled.db'))]).toEqual(['pre-migration.db: 600', 'scheduled.db: 600']);
    } finally {
      db.close();
    }
  });

  it('tightens a database (and its WAL and SHM) left world-readable by an earlier version when it opens it for writing', () => {
    const path = join(dir, 'earlier.db');
    const earlier = new Database(path);
    earlier.pragma('journal_mode = WAL');
    earlier.exec('CREATE TABLE t (x)');
    for (const f of [path, `${path}-wal`, `${path}-shm`]) chmodSync(f, 0o644);
    const db = openDatabase(path);
    db.exec('INSERT INTO t VALUES (1)');
    try {
      expect([path, `${path}-wal`, `${path}-shm`].map(mode)).toEqual([0o600, 0o600, 0o600]);
    } finally {
      db.close();
      earlier.close();
    }
  });
});
