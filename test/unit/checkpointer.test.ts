import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKSTOP_PAGES, startCheckpointer, type Checkpoint } from '../../src/shared/db/checkpointer.js';
import { openDatabase, type Db } from '../../src/shared/db/open.js';
import { eventually } from '../support/harness.js';

const dirs: string[] = [];
const opened: Db[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const db of opened.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file(): { db: Db; path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-checkpoint-'));
  dirs.push(dir);
  const path = join(dir, 'c.db');
  const db = openDatabase(path);
  db.exec('CREATE TABLE item (id TEXT PRIMARY KEY, note TEXT)');
  opened.push(db);
  return { db, path, dir };
}

/** Rows in the database file itself, without its WAL: what a checkpoint has copied there. */
function rowsInFile(path: string, dir: string): number {
  const copy = join(dir, `copy-${Math.random().toString(36).slice(2)}.db`);
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'item'").get() as { n: number }).n === 0 ? 0 : (db.prepare('SELECT count(*) AS n FROM item').get() as { n: number }).n;
  } finally {
    db.close();
    rmSync(copy, { force: true });
  }
}

describe('the checkpointer', () => {
  it('copies committed pages into the file on its own thread, leaves the connection only a backstop, and lets the WAL start over', async () => {
    const { db, path, dir } = file();
    const insert = db.prepare('INSERT INTO item (id, note) VALUES (?, ?)');
    for (let i = 0; i < 50; i++) insert.run(`a${i}`, 'x'.repeat(2000));
    // SQLite's own checkpoint waits for 1,000 pages: nothing is in the file yet.
    expect(rowsInFile(path, dir)).toBe(0);
    const seen: Checkpoint[] = [];
    const errors: Error[] = [];
    const checkpointer = startCheckpointer(db, { intervalMs: 10, onCheckpoint: (c) => seen.push(c), onError: (e) => errors.push(e) });
    closers.push(() => checkpointer.close());
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_PAGES);
    // Idle: no write since it started, no thread, no checkpoint.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(checkpointer.made).toBe(0);
    insert.run('b', 'x'.repeat(2000));
    await eventually(() => expect(rowsInFile(path, dir)).toBe(51), 10_000);
    // The pages reach the file before the thread's report of them reaches this one.
    const fullCopy = (): Checkpoint | undefined => seen.find((c) => c.log > 0 && c.checkpointed === c.log);
    await eventually(() => expect(fullCopy()).toBeDefined());
    const caughtUp = fullCopy() as Checkpoint;
    expect(caughtUp.log).toBeGreaterThanOrEqual(51);
    // All of it copied: the next write starts the WAL over, so the next checkpoint sees a short log.
    insert.run('c', 'short');
    await eventually(() => expect(seen.at(-1)?.log).toBeLessThan(caughtUp.log));
    await eventually(() => expect(rowsInFile(path, dir)).toBe(52));
    expect(errors).toEqual([]);
  });

  it('resolves caughtUp() only once the file holds everything written before it (how a purge paces its batches)', async () => {
    const { db, path, dir } = file();
    const checkpointer = startCheckpointer(db, { intervalMs: 60_000 });
    closers.push(() => checkpointer.close());
    const insert = db.prepare('INSERT INTO item (id, note) VALUES (?, ?)');
    const batch = db.transaction((round: number) => {
      for (let i = 0; i < 40; i++) insert.run(`r${round}-${i}`, 'x'.repeat(1500));
    });
    for (let round = 1; round <= 4; round++) {
      batch(round);
      // The timer would wait a minute: caughtUp asks for the checkpoint itself.
      await checkpointer.caughtUp(30_000);
      expect(rowsInFile(path, dir)).toBe(40 * round);
    }
    // Nothing written since: at once.
    await checkpointer.caughtUp(30_000);
    expect(checkpointer.made).toBe(4);
  });

  it("gives the connection back SQLite's own checkpoints when its thread cannot run", async () => {
    const { db } = file();
    const errors: Error[] = [];
    const checkpointer = startCheckpointer(db, { intervalMs: 10, entry: new URL(`data:text/javascript,${encodeURIComponent("throw new Error('no thread here')")}`), onError: (e) => errors.push(e) });
    closers.push(() => checkpointer.close());
    db.prepare('INSERT INTO item (id) VALUES (?)').run('a');
    await eventually(() => expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('no thread here')]));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // It stays stopped: later writes start no new thread.
    db.prepare('INSERT INTO item (id) VALUES (?)').run('b');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toHaveLength(1);
  });

  it("closes its connection at close(), so the daemon's own close is the last and removes the WAL", async () => {
    const { db, path } = file();
    const checkpointer = startCheckpointer(db, { intervalMs: 10 });
    db.prepare('INSERT INTO item (id) VALUES (?)').run('a');
    await eventually(() => expect(checkpointer.made).toBeGreaterThan(0));
    await checkpointer.close();
    expect(existsSync(`${path}-wal`)).toBe(true);
    db.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});
