import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { inject } from 'light-my-request';
import { afterEach, expect, it } from 'vitest';
import { createGroupCommit } from '../../src/shared/db/group-commit.js';
import { openDatabase, type Db } from '../../src/shared/db/open.js';
import { createErrorHandler } from '../../src/shared/http/error-handler.js';
import { holdResponsesUntilDurable } from '../../src/shared/http/durable-responses.js';
import { createLogger } from '../../src/shared/logger.js';

// Its own file: light-my-request reshapes express's shared response prototype for the whole
// process, which must not reach the real servers of other tests.
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function database(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'tb-durable-'));
  const db = openDatabase(join(dir, 'test.db'));
  db.exec('CREATE TABLE item (id TEXT PRIMARY KEY) STRICT');
  cleanups.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

it('keeps the whole body of a held answer whose end writes its last chunk through this.write (an in-process request)', async () => {
  // light-my-request's response, like some frameworks', ends by calling this.write: the held
  // end must not queue that write behind itself and lose it.
  const db = database();
  const group = createGroupCommit(db);
  const app = express();
  app.use(holdResponsesUntilDurable(group, createErrorHandler(createLogger({ level: 'error', silent: true }))));
  app.post('/items/:id', (req, res) => {
    group.run(() => db.prepare('INSERT INTO item (id) VALUES (?)').run(req.params.id));
    res.status(201).json({ id: req.params.id });
  });
  const res = await inject(app as never, { method: 'POST', url: '/items/i9' });
  expect([res.statusCode, res.json()]).toEqual([201, { id: 'i9' }]);
  expect(db.prepare('SELECT id FROM item').pluck().all()).toEqual(['i9']);
});
