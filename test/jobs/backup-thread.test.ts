import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeScheduledBackup } from '../../src/jobs/backup.js';
import { backupOnThread } from '../../src/shared/db/backup-thread.js';
import { openDatabase, type Db } from '../../src/shared/db/open.js';

// The nightly backup copies the live file and checks the copy. On the daemon's thread that held
// the event loop for seconds on a big file (the check of the copy in one stretch), so it runs on
// a thread of its own.

let dir: string;
let db: Db;
let source: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-backup-thread-'));
  source = join(dir, 'tb.db');
  db = openDatabase(source);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 20_000; i++) insert.run(`payment ${i} `.repeat(8));
  })();
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const rowsOf = (file: string): number => {
  const copy = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (copy.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  } finally {
    copy.close();
  }
};

describe('the backup job copies the database on a thread of its own', () => {
  it('writes the checked copy while this thread is held and serves nothing', async () => {
    const backups = join(dir, 'held');
    const done = writeScheduledBackup(source, { dir: backups, keep: 2 }, Date.UTC(2026, 11, 3, 2, 45));
    const target = join(backups, 'tenderbridge-20261203T024500.000Z.db');
    // Hold this thread (no timer, no I/O callback can run) until the copy is in place: a copy
    // made on this thread can never get there, and the loop gives up after a minute.
    const giveUp = Date.now() + 60_000;
    while (!existsSync(target) && Date.now() < giveUp) {
      /* held */
    }
    expect(existsSync(target), 'the copy appeared while the event loop was held').toBe(true);
    const backup = await done;
    expect(backup).toMatchObject({ file: target, bytes: statSync(target).size, removed: [] });
    expect(rowsOf(target)).toBe(20_000);
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  it('answers why when there is nothing to copy, and writes nothing', async () => {
    const target = join(dir, 'missing-copy.db');
    await expect(backupOnThread(join(dir, 'no-such.db'), target, 'quick')).rejects.toThrow(/unable to open database file/);
    expect(existsSync(target)).toBe(false);
  });

  it('fails the backup, naming the thread, when the thread dies before it answers', async () => {
    const target = join(dir, 'died-copy.db');
    const entry = new URL(`data:text/javascript,${encodeURIComponent("throw new Error('no thread here')")}`);
    await expect(backupOnThread(source, target, 'quick', { entry })).rejects.toThrow(/the backup thread failed: no thread here/);
    expect(existsSync(target)).toBe(false);
  });

  it('copies on the calling thread, and says so, when no thread can be started', async () => {
    const target = join(dir, 'fallback-copy.db');
    const said: string[] = [];
    // A worker entry Node refuses outright (not a file, a data: or a file URL): the constructor throws.
    const backup = await backupOnThread(source, target, 'quick', { entry: new URL('https://example.invalid/backup-worker.js'), onFallback: (e) => said.push(e.message) });
    expect(backup.file).toBe(target);
    expect(rowsOf(target)).toBe(20_000);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^the backup thread could not start: /);
  });
});
