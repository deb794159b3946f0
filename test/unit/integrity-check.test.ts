import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWhileServing, walHasFrames, type IntegrityCheckOptions } from '../../src/shared/db/integrity-check.js';
import { migrate, openDatabase, type Db } from '../../src/shared/db/open.js';
import { eventually } from '../support/harness.js';

// The integrity check a cleanly closed file gets while the daemon serves (test/e2e/integrity-at-start.test.ts
// runs it in the built daemon): here, what happens when its thread cannot run.

let dir: string;
let db: Db;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-integrity-unit-'));
  db = openDatabase(join(dir, 'tb.db'));
  migrate(db);
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function watched(entry?: URL) {
  const told = { results: [] as string[][], errors: [] as string[], fallbacks: [] as string[] };
  const options: IntegrityCheckOptions = {
    clock: Date.now,
    onResult: (problems) => told.results.push(problems),
    onError: (e) => told.errors.push(e.message),
    onFallback: (e) => told.fallbacks.push(e.message),
    ...(entry ? { entry } : {}),
  };
  return { check: checkWhileServing(db, options), told };
}
const dataEntry = (source: string) => new URL(`data:text/javascript,${encodeURIComponent(source)}`);

describe('the integrity check run while serving', () => {
  it('is ok while it runs and once the file is found healthy', async () => {
    const { check, told } = watched();
    expect(check.check()).toMatchObject({ ok: true, detail: expect.stringMatching(/^integrity check running since /) });
    await eventually(() => check.state().state === 'ok', 20_000);
    expect(told).toEqual({ results: [[]], errors: [], fallbacks: [] });
  });

  it('runs once on the daemon connection, and says so, when no thread can be started', async () => {
    const { check, told } = watched(new URL('https://example.invalid/integrity-worker.js'));
    expect(told.fallbacks).toHaveLength(1);
    expect(told.fallbacks[0]).toMatch(/^the integrity check thread could not start: /);
    await eventually(() => check.state().state === 'ok', 5_000);
    expect(told.results).toEqual([[]]);
  });

  it('leaves the file unchecked, not damaged, when its thread dies', async () => {
    const { check, told } = watched(dataEntry("throw new Error('no thread here')"));
    await eventually(() => check.state().state === 'unchecked', 20_000);
    expect(told.errors).toEqual([expect.stringMatching(/^the integrity check thread failed: no thread here/)]);
    expect(check.check()).toMatchObject({ ok: true, detail: expect.stringMatching(/^integrity not checked since this start: /) });
    expect(told.results).toEqual([]);
  });

  it('is ended by close() (the daemon stops) without an error', async () => {
    const { check, told } = watched(dataEntry('setInterval(() => undefined, 1000);'));
    await check.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(check.state().state).toBe('checking');
    expect(told).toEqual({ results: [], errors: [], fallbacks: [] });
  });
});

describe('walHasFrames: what an unclean stop leaves', () => {
  it('is false without a WAL or with an empty one, true with frames', () => {
    const path = join(dir, 'wal-test.db');
    expect(walHasFrames(path)).toBe(false);
    writeFileSync(`${path}-wal`, '');
    expect(walHasFrames(path)).toBe(false);
    writeFileSync(`${path}-wal`, Buffer.alloc(32));
    expect(walHasFrames(path)).toBe(true);
  });
});
