import { fdatasync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type ErrorJson, type PaymentJson } from '../support/http.js';

/**
 * The daemon's SQLite connection runs synchronous=NORMAL and flushes the WAL itself, off the
 * event loop (src/shared/db/group-commit.ts). Here the flush is the real fdatasync until a test
 * holds it (a slow disk) or fails it (a dying one), through the daemon's own routes.
 */
const disk = {
  mode: 'pass' as 'pass' | 'hold' | 'fail',
  held: [] as Array<(error: Error | null) => void>,
  told: [] as unknown[],
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    walFlush: {
      walSync: (fd, done) => {
        if (disk.mode === 'pass') fdatasync(fd, done);
        else if (disk.mode === 'hold') disk.held.push(done);
        else done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      },
      onSyncFailure: (error) => disk.told.push(error),
    },
  });
});
afterAll(async () => {
  await h.stop();
});

let ref = 0;
const create = (key: string) => call<PaymentJson & ErrorJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': key }, json: { amountMinor: 1500, currency: 'NZD', merchantReference: `WAL-${++ref}` } });

describe("a payment's answer waits for the WAL flush", () => {
  it('answers a create only once the flush after its COMMIT has ended', async () => {
    disk.mode = 'hold';
    let answered = false;
    const answer = create('wal-flush-1').then((res) => {
      answered = true;
      return res;
    });
    await eventually(() => expect(disk.held.length).toBeGreaterThan(0));
    // The payment's first write is committed, its flush is held: nothing may have left.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toBe(false);
    disk.mode = 'pass';
    for (const done of disk.held.splice(0)) done(null);
    const res = await answer;
    expect(res.status, res.text).toBe(201);
    expect(res.body.amountMinor).toBe(1500);
  });

  it('takes the daemon out of rotation while a flush has run for 5 s (/readyz 503, checks.disk), and logs a slow flush', async () => {
    type Ready = { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    expect((await call<Ready>(`${h.url}/readyz`)).body.checks['disk']).toEqual({ ok: true });
    disk.mode = 'hold';
    const first = create('wal-flush-slow-1');
    await eventually(() => expect(disk.held.length).toBeGreaterThan(0));
    h.advanceClock(6_000);
    // A write arriving during the long flush waits for it, and the wait is logged.
    const second = create('wal-flush-slow-2');
    await eventually(() => expect(h.logs.join('')).toContain('flushing the database to disk is slow'));
    const ready = await call<Ready>(`${h.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.checks['disk']).toMatchObject({ ok: false, detail: expect.stringContaining('the disk is not answering') });
    // Liveness answers too: the process is alive, only its disk is stuck.
    expect((await call<{ status: string }>(`${h.url}/healthz`)).body.status).toBe('ok');
    disk.mode = 'pass';
    while (disk.held.length > 0) for (const done of disk.held.splice(0)) done(null);
    expect((await first).status).toBe(201);
    expect((await second).status).toBe(201);
    const again = await call<Ready>(`${h.url}/readyz`);
    expect(again.status, again.text).toBe(200);
  });

  it('answers 503 storage_unavailable when the flush fails, refuses later writes the same way, and tells the failure once', async () => {
    disk.mode = 'fail';
    const res = await create('wal-flush-2');
    expect(res.status, res.text).toBe(503);
    expect(res.body.error.code).toBe('storage_unavailable');
    expect(res.body.error.message).toContain('retry with the same Idempotency-Key');
    // The disk is not trusted again until a restart, even if a later flush would pass.
    disk.mode = 'pass';
    const again = await create('wal-flush-3');
    expect(again.status, again.text).toBe(503);
    expect(disk.told).toHaveLength(1);
    expect(disk.told[0]).toMatchObject({ code: 'SYNC_FAILED' });
  });
});
