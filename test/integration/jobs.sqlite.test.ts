import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

// The backup job copies the daemon's SQLite file: only a file has it (on PostgreSQL the
// daemon registers no backup job, see jobs.test.ts; pg_dump and PITR back the server up).

const createIn = async (h: Harness, amountMinor: number) => (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor, currency: 'NZD', merchantReference: `B-${amountMinor}` } })).body;

describe('the backup job, run by calling run()', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend: 'sqlite', config: { backups: { keep: 2 } } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('backs the live database up online into backups.dir, keeping the newest backups.keep', async () => {
    const job = h.daemon.jobs.find((j) => j.name === 'backup');
    const dir = join(dirname(h.dbPath), 'backups');
    const files: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      // a payment committed just before each round is in that round's copy
      await createIn(h, 4000 + i);
      files.push((await job?.run()) as string);
      h.advanceClock(60_000);
    }
    expect(files.every((f) => /\/backups\/tenderbridge-\d{8}T\d{6}\.\d{3}Z\.db$/.test(f))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(files.slice(1).map((f) => basename(f)));
    const copy = new Database(files[2] as string, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      const amounts = (copy.prepare('SELECT amount_minor FROM payments').all() as Array<{ amount_minor: number }>).map((r) => r.amount_minor);
      expect(amounts).toEqual(expect.arrayContaining([4000, 4001, 4002]));
    } finally {
      copy.close();
    }
    expect(h.logs.some((l) => l.includes('database backup written'))).toBe(true);
  });
});

// On a schedule of every second, with no run() called: a job left off its schedule never runs.
describe('the backup job, run by its schedule', () => {
  let s: Harness;
  beforeAll(async () => {
    s = await startHarness({ backend: 'sqlite', config: { backups: { keep: 2 }, jobs: { backup: '* * * * * *' } } });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('writes a copy of the database into backups.dir', async () => {
    const dir = join(dirname(s.dbPath), 'backups');
    await eventually(() => existsSync(dir) && readdirSync(dir).some((f) => /^tenderbridge-\d{8}T\d{6}\.\d{3}Z\.db$/.test(f)), 15_000);
  });
});
