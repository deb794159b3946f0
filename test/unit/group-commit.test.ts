import { mkdtempSync, rmSync } from 'node:fs';
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
    await nextTurn();
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
      expect(group.pending).toBe(false);
    })();
    expect(ids(other)).toEqual(['outer']);
  });
});

describe('answers held until durable', () => {
  async function serve(build: (app: express.Express, db: Db, group: ReturnType<typeof createGroupCommit>) => void) {
    const { db, other } = files();
    const group = createGroupCommit(db);
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
