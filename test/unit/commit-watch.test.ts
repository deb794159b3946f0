import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crashAfterCommit, crashPointFrom } from '../../src/ops/crash-point.js';
import { watchCommits } from '../../src/shared/db/commit-watch.js';
import { createGroupCommit, immediateCommit, readSnapshot } from '../../src/shared/db/group-commit.js';
import { openDatabase, type Db } from '../../src/shared/db/open.js';
import { createLogger } from '../../src/shared/logger.js';

const opened: Db[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A database with the crash hook's counting wired as the daemon wires it: the group commit's COMMITs and every commit made outside it. */
function counted() {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-commits-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'c.db'));
  opened.push(db);
  db.exec('CREATE TABLE item (id TEXT PRIMARY KEY)');
  const commits = { n: 0 };
  watchCommits(db, () => (commits.n += 1));
  const group = createGroupCommit(db, { onCommitted: () => (commits.n += 1) });
  return { db, group, commits, insert: db.prepare('INSERT INTO item (id) VALUES (?)') };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('counting durable commits (the crash hook)', () => {
  it('counts one commit per group-commit batch, however many writes joined it', async () => {
    const { group, commits, insert } = counted();
    group.run(() => insert.run('a'));
    group.transaction(() => insert.run('b'));
    expect(commits.n).toBe(0); // not durable yet
    await group.settled();
    expect(commits.n).toBe(1);
  });

  it('counts a write that commits by itself outside a batch, and not one that joins an open batch', async () => {
    const { group, commits, insert } = counted();
    insert.run('alone');
    expect(commits.n).toBe(1);
    group.run(() => insert.run('in-batch'));
    insert.run('joins'); // SQLite has one transaction per connection: this write is part of the batch
    await group.settled();
    expect(commits.n).toBe(2);
  });

  it('counts an outermost transaction of its own (immediateCommit) once, a read or a write that changed nothing never', () => {
    const { db, commits, insert } = counted();
    immediateCommit(db).transaction(() => {
      insert.run('x');
      insert.run('y');
    });
    expect(commits.n).toBe(1);
    readSnapshot(db, () => db.prepare('SELECT count(*) FROM item').get());
    db.prepare("UPDATE item SET id = 'z' WHERE id = 'nobody'").run();
    expect(commits.n).toBe(1);
  });

  it('does not count a batch whose COMMIT failed', async () => {
    const { db, group, commits } = counted();
    db.exec('CREATE TABLE parent (id TEXT PRIMARY KEY); CREATE TABLE later (id TEXT PRIMARY KEY, parent TEXT REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    const before = commits.n;
    group.run(() => db.prepare("INSERT INTO later (id, parent) VALUES ('l', 'missing')").run());
    await expect(group.settled()).rejects.toThrow();
    await nextTurn();
    expect(commits.n).toBe(before);
  });
});

describe('the crash point', () => {
  it('is read from TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT, absent when unset, refused when not a whole number', () => {
    expect(crashPointFrom({})).toBeNull();
    expect(crashPointFrom({ TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT: '' })).toBeNull();
    expect(crashPointFrom({ TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT: '7' })).toBe(7);
    expect(() => crashPointFrom({ TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT: 'soon' })).toThrow(/TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT/);
  });

  it('kills right after commit k and not before; 0 only counts', () => {
    const logger = createLogger({ level: 'error', silent: true });
    const kills: number[] = [];
    const third = crashAfterCommit(3, { logger, kill: () => kills.push(3) });
    const never = crashAfterCommit(0, { logger, kill: () => kills.push(0) });
    for (let n = 1; n <= 5; n += 1) {
      third(n);
      never(n);
    }
    expect(kills).toEqual([3]);
  });
});
