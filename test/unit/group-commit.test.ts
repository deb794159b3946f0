import { mkdtempSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createGroupCommit } from '../../src/shared/db/group-commit.js';
import { openDatabase, type Db } from '../../src/shared/db/open.js';
import { holdResponsesUntilDurable } from '../../src/shared/http/durable-responses.js';
import { createErrorHandler } from '../../src/shared/http/error-handler.js';
import { createLogger } from '../../src/shared/logger.js';

const opened: Db[] = [];
const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const db of opened.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The daemon's connection and a second one, as the CLI (or a crash-restart) would see the file. */
function files(): { db: Db; other: Db } {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-group-'));
  dirs.push(dir);
  const path = join(dir, 'g.db');
  const db = openDatabase(path);
  // `later` checks its parent only at COMMIT: the one way to make a COMMIT itself fail on demand.
  db.exec(`CREATE TABLE parent (id TEXT PRIMARY KEY);
           CREATE TABLE item (id TEXT PRIMARY KEY, note TEXT);
           CREATE TABLE later (id TEXT PRIMARY KEY, parent TEXT REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);`);
  const other = openDatabase(path);
  opened.push(db, other);
  return { db, other };
}

const ids = (db: Db): string[] => (db.prepare('SELECT id FROM item ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('commits the writes of one event-loop turn together, after the turn, and not before', async () => {
    const { db, other } = files();
    const group = createGroupCommit(db);
    const insert = db.prepare('INSERT INTO item (id) VALUES (?)');
    group.run(() => insert.run('a'));
    group.run(() => db.transaction(() => insert.run('b')).immediate());
    expect(group.pending).toBe(true);
    expect(ids(db)).toEqual(['a', 'b']); // the writer reads its own writes
    expect(ids(other)).toEqual([]); // nobody else does, yet
    await group.settled();
    expect(group.pending).toBe(false);
    expect(ids(other)).toEqual(['a', 'b']);
  });

  it('undoes only the part that threw: a savepoint, not the batch', async () => {
    const { db, other } = files();
    const group = createGroupCommit(db);
    const insert = db.prepare('INSERT INTO item (id) VALUES (?)');
    group.run(() => insert.run('kept'));
    expect(() =>
      group.run(() =>
        db.transaction(() => {
          insert.run('undone');
          throw new Error('refused');
        })(),
      ),
    ).toThrow('refused');
    await group.settled();
    expect(ids(other)).toEqual(['kept']);
  });

  it('runs afterCommit listeners only once the batch is durable, and at once when nothing is pending', async () => {
    const { db, other } = files();
    const group = createGroupCommit(db);
    const seen: string[][] = [];
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('x'));
    group.afterCommit(() => seen.push(ids(other)));
    expect(seen).toEqual([]);
    await group.settled();
    expect(seen).toEqual([['x']]);
    group.afterCommit(() => seen.push(['idle']));
    expect(seen).toEqual([['x'], ['idle']]);
  });

  it('rolls the whole batch back when its COMMIT fails, rejects its waiters and drops its listeners', async () => {
    const { db, other } = files();
    const failures: unknown[] = [];
    const group = createGroupCommit(db, { onCommitFailure: (e) => failures.push(e) });
    let told = false;
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('lost'));
    group.run(() => db.prepare('INSERT INTO later (id, parent) VALUES (?, ?)').run('orphan', 'missing'));
    group.afterCommit(() => {
      told = true;
    });
    await expect(group.settled()).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    expect(failures).toHaveLength(1);
    expect(told).toBe(false);
    expect(db.inTransaction).toBe(false);
    expect(ids(db)).toEqual([]);
    expect(ids(other)).toEqual([]);
    // The next batch starts clean.
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('next'));
    await group.settled();
    expect(ids(other)).toEqual(['next']);
  });

  it('fails the whole batch with the cause when SQLite rolls it back by itself (disk full)', async () => {
    const { db, other } = files();
    const group = createGroupCommit(db);
    const insert = db.prepare('INSERT INTO item (id, note) VALUES (?, ?)');
    group.run(() => insert.run('before', null));
    const waiting = group.settled();
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    expect(() => group.run(() => insert.run('big', 'x'.repeat(100_000)))).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }));
    await expect(waiting).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    expect(ids(other)).toEqual([]);
    db.pragma('max_page_count = 1073741823');
    group.run(() => insert.run('after', null));
    await group.settled();
    expect(ids(other)).toEqual(['after']);
  });

  it('runs transaction(fn) as a savepoint of the batch, undone alone when it throws', async () => {
    const { db, other } = files();
    const group = createGroupCommit(db);
    const insert = db.prepare('INSERT INTO item (id) VALUES (?)');
    group.transaction(() => insert.run('t1'));
    expect(() =>
      group.transaction(() => {
        insert.run('t2');
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(ids(other)).toEqual([]);
    await group.settled();
    expect(ids(other)).toEqual(['t1']);
  });

  it('leaves an explicit outer transaction alone: it commits its own writes', () => {
    const { db, other } = files();
    const group = createGroupCommit(db);
    db.transaction(() => {
      group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('outer'));
      expect(db.inTransaction).toBe(true); // no batch of the group's own was begun inside it
    })();
    expect(ids(other)).toEqual(['outer']);
  });
});

/** A WAL flush the test finishes by hand: what a slow disk looks like to the group. */
function heldSyncs() {
  const calls: Array<{ fd: number; done: (error: Error | null) => void }> = [];
  return {
    calls,
    walSync: (fd: number, done: (error: Error | null) => void) => {
      calls.push({ fd, done });
    },
    /** Finishes the oldest flush still running. */
    finish(error: Error | null = null) {
      const call = calls.shift();
      if (!call) throw new Error('no flush is running');
      call.done(error);
    },
  };
}

/** Whether `promise` has settled, after the turns it needed. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await nextTurn();
  return done;
}

describe('group commit: on disk before anyone hears, flushed off the event loop', () => {
  it("flushes the WAL file itself after the COMMIT (the connection runs synchronous=NORMAL), and releases nothing before that flush ends", async () => {
    const { db, other } = files();
    const disk = heldSyncs();
    const group = createGroupCommit(db, { walSync: disk.walSync });
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL: SQLite itself skips the per-commit fsync
    const heard: string[] = [];
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('a'));
    group.afterCommit(() => heard.push('after'));
    const waiting = group.settled();
    while (disk.calls.length === 0) await nextTurn();
    // Committed (another connection sees it) but not yet on disk: nobody has heard.
    expect(ids(other)).toEqual(['a']);
    expect(readlinkSync(`/proc/self/fd/${disk.calls[0]?.fd}`)).toBe(`${realpathSync(db.name)}-wal`);
    expect(group.pending).toBe(true);
    expect(await settledYet(waiting)).toBe(false);
    expect(heard).toEqual([]);
    disk.finish();
    await waiting;
    expect(heard).toEqual(['after']);
    expect(group.pending).toBe(false);
  });

  it('writes made while a flush runs wait in one batch, which commits when it ends and has the next flush', async () => {
    const { db, other } = files();
    const disk = heldSyncs();
    const group = createGroupCommit(db, { walSync: disk.walSync });
    const insert = db.prepare('INSERT INTO item (id) VALUES (?)');
    group.run(() => insert.run('b1'));
    const first = group.settled();
    while (disk.calls.length === 0) await nextTurn();
    group.run(() => insert.run('b2'));
    const second = group.settled();
    await nextTurn();
    group.run(() => insert.run('b3'));
    const third = group.settled();
    await nextTurn();
    await nextTurn();
    // b2 and b3 came after the first flush began: they wait in the open batch, and no second flush overlaps it.
    expect(disk.calls).toHaveLength(1);
    expect(ids(other)).toEqual(['b1']);
    disk.finish();
    await first;
    expect(ids(other)).toEqual(['b1', 'b2', 'b3']);
    expect(await settledYet(second)).toBe(false);
    expect(disk.calls).toHaveLength(1);
    disk.finish();
    await Promise.all([second, third]);
    expect(disk.calls).toHaveLength(0);
  });

  it('a write SQLite commits by itself, outside a batch, is flushed before exclusive() answers, and holds answers meanwhile', async () => {
    const { db, other } = files();
    const disk = heldSyncs();
    const group = createGroupCommit(db, { walSync: disk.walSync });
    const write = group.exclusive(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('solo').changes);
    while (disk.calls.length === 0) await nextTurn();
    expect(ids(other)).toEqual(['solo']);
    expect(group.pending).toBe(true);
    expect(await settledYet(write)).toBe(false);
    disk.finish();
    expect(await write).toBe(1);
    expect(group.pending).toBe(false);
    // A read outside a batch, with nothing owed, answers without any flush.
    expect(await group.exclusive(() => ids(db))).toEqual(['solo']);
    expect(disk.calls).toHaveLength(0);
  });

  it('covers a write made on the connection by other code (its own transaction): pending until flushed, settled() flushes it', async () => {
    const { db } = files();
    const disk = heldSyncs();
    const group = createGroupCommit(db, { walSync: disk.walSync });
    db.transaction(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('purge-like'))();
    expect(group.pending).toBe(true);
    const waiting = group.settled();
    expect(disk.calls).toHaveLength(1);
    expect(await settledYet(waiting)).toBe(false);
    disk.finish();
    await waiting;
    expect(group.pending).toBe(false);
  });

  it('a failed flush rejects its waiters and every later wait, drops their listeners, and is told once', async () => {
    const { db } = files();
    const disk = heldSyncs();
    const told: unknown[] = [];
    const group = createGroupCommit(db, { walSync: disk.walSync, onSyncFailure: (e) => told.push(e) });
    let heard = false;
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('c'));
    group.afterCommit(() => {
      heard = true;
    });
    const waiting = group.settled();
    while (disk.calls.length === 0) await nextTurn();
    disk.finish(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(waiting).rejects.toMatchObject({ code: 'SYNC_FAILED', message: expect.stringContaining('EIO') });
    expect(heard).toBe(false);
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('d'));
    await expect(group.settled()).rejects.toMatchObject({ code: 'SYNC_FAILED' });
    expect(group.pending).toBe(true);
    expect(told).toHaveLength(1);
  });

  it('says how long the flush under way has run, and tells once of one still running a second later when a write arrives', async () => {
    const { db } = files();
    const disk = heldSyncs();
    let now = 1_000_000;
    const slow: number[] = [];
    const group = createGroupCommit(db, { walSync: disk.walSync, clock: () => now, onSlowFlush: (ms) => slow.push(ms) });
    const insert = db.prepare('INSERT INTO item (id) VALUES (?)');
    expect(group.flushingForMs()).toBe(0);
    group.run(() => insert.run('s1'));
    while (disk.calls.length === 0) await nextTurn();
    now += 400;
    group.run(() => insert.run('s2'));
    await nextTurn();
    expect(group.flushingForMs()).toBe(400);
    expect(slow).toEqual([]);
    now += 1_100;
    group.run(() => insert.run('s3'));
    await nextTurn();
    group.run(() => insert.run('s4'));
    await nextTurn();
    expect(slow).toEqual([1_500]);
    disk.finish();
    await nextTurn();
    // The next flush (s2-s4) has just begun.
    expect(group.flushingForMs()).toBe(0);
    disk.finish();
    await group.settled();
    expect(group.flushingForMs()).toBe(0);
  });

  it('flush() commits and flushes on this thread at once (shutdown)', async () => {
    const { db } = files();
    const disk = heldSyncs();
    const group = createGroupCommit(db, { walSync: disk.walSync });
    let heard = false;
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('e'));
    group.afterCommit(() => {
      heard = true;
    });
    group.flush();
    expect(heard).toBe(true);
    expect(group.pending).toBe(false);
    await group.settled();
    // The flush begun off the thread ends later and releases nothing twice.
    disk.finish();
    expect(group.pending).toBe(false);
  });

  it('a flush that ends after its connection was closed (without flush()) does nothing', async () => {
    const { db } = files();
    const disk = heldSyncs();
    const group = createGroupCommit(db, { walSync: disk.walSync });
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('gone'));
    while (disk.calls.length === 0) await nextTurn();
    // Someone waits for a write made after that flush began: the next flush is owed.
    db.prepare('INSERT INTO item (id) VALUES (?)').run('gone-too');
    void group.settled().catch(() => undefined);
    db.close();
    expect(() => disk.finish()).not.toThrow();
  });

  it('keeps synchronous=FULL, flushing inside each COMMIT, where there is no WAL file (:memory:) or when told to', async () => {
    const memory = openDatabase(':memory:');
    opened.push(memory);
    memory.exec('CREATE TABLE item (id TEXT PRIMARY KEY)');
    const disk = heldSyncs();
    const group = createGroupCommit(memory, { walSync: disk.walSync });
    group.run(() => memory.prepare('INSERT INTO item (id) VALUES (?)').run('m'));
    await group.settled();
    expect(disk.calls).toHaveLength(0);
    const { db } = files();
    createGroupCommit(db, { walSync: false });
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });
});

describe('answers held until durable', () => {
  async function serve(build: (app: express.Express, db: Db, group: ReturnType<typeof createGroupCommit>) => void, options: Parameters<typeof createGroupCommit>[1] = {}) {
    const { db, other } = files();
    const group = createGroupCommit(db, options);
    const logger = createLogger({ level: 'error' });
    const app = express();
    const errorHandler = createErrorHandler(logger);
    app.use(holdResponsesUntilDurable(group, errorHandler));
    build(app, db, group);
    app.use(errorHandler);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, other };
  }

  it('a 201 leaves only after its row is committed, as another connection sees it', async () => {
    const { url, other } = await serve((app, db, group) => {
      app.post('/items/:id', (req, res) => {
        group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run(req.params.id));
        res.status(201).json({ id: req.params.id });
      });
    });
    const res = await fetch(`${url}/items/i1`, { method: 'POST' });
    // Read the moment the head arrives, before the body: the commit must precede both.
    expect(ids(other)).toEqual(['i1']);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ id: 'i1' });
  });

  it('does not answer while a batch is pending, and answers as soon as it is durable', async () => {
    let durable!: () => void;
    const commit = new Promise<void>((resolve) => {
      durable = resolve;
    });
    const pendingGroup = { pending: true, settled: () => commit };
    const app = express();
    app.use(holdResponsesUntilDurable(pendingGroup, createErrorHandler(createLogger({ level: 'error' }))));
    let routeRan = false;
    app.get('/', (_req, res) => {
      routeRan = true;
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    let answered = false;
    const res = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`).then((r) => {
      answered = true;
      return r;
    });
    while (!routeRan) await nextTurn();
    // The route has answered; many turns later nothing has reached the client.
    for (let i = 0; i < 20; i++) await nextTurn();
    expect(answered).toBe(false);
    durable();
    expect((await res).status).toBe(200);
  });

  it('keeps the order of a stream written before and after a commit', async () => {
    const { url } = await serve((app, db, group) => {
      app.get('/stream', (_req, res) => {
        res.write('one,');
        group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('s'));
        res.write('two,');
        setImmediate(() => res.end('three'));
      });
    });
    expect(await (await fetch(`${url}/stream`)).text()).toBe('one,two,three');
  });

  /** A route that writes its item and answers 201, over a group whose flushes the test ends by hand. */
  const insertRoute = (app: express.Express, db: Db, group: ReturnType<typeof createGroupCommit>) =>
    app.post('/items/:id', (req, res) => {
      group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run(req.params.id));
      res.status(201).json({ id: req.params.id });
    });

  it('holds a 201 until the WAL is flushed to disk, although its row is committed', async () => {
    const disk = heldSyncs();
    const { url, other } = await serve(insertRoute, { walSync: disk.walSync });
    const answer = fetch(`${url}/items/h1`, { method: 'POST' });
    while (disk.calls.length === 0) await new Promise((r) => setTimeout(r, 1));
    expect(ids(other)).toEqual(['h1']);
    expect(await settledYet(answer)).toBe(false);
    disk.finish();
    expect((await answer).status).toBe(201);
  });

  it('answers 503 when the flush fails, after the row was committed', async () => {
    const disk = heldSyncs();
    const { url } = await serve(insertRoute, { walSync: disk.walSync });
    const answer = fetch(`${url}/items/h2`, { method: 'POST' });
    while (disk.calls.length === 0) await new Promise((r) => setTimeout(r, 1));
    disk.finish(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const res = await answer;
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('storage_unavailable');
    expect(body.error.message).toContain('retry with the same Idempotency-Key');
  });

  it("replaces the answer with the error handler's (503 for a full disk; 500 for this constraint), storing nothing, when the commit fails", async () => {
    const { url, other } = await serve((app, db, group) => {
      app.post('/bad', (_req, res) => {
        group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run('doomed'));
        group.run(() => db.prepare('INSERT INTO later (id, parent) VALUES (?, ?)').run('orphan', 'missing'));
        res.status(201).set('etag', '"x"').json({ ok: true });
      });
    });
    const res = await fetch(`${url}/bad`, { method: 'POST' });
    expect(res.status).toBe(500);
    expect(res.headers.get('etag')).not.toBe('"x"'); // the replaced answer's headers are gone
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('internal_error');
    expect(ids(other)).toEqual([]);
  });
});
