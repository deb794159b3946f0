import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

// A full disk as SQLite meets it (SQLITE_FULL on the daemon's file): only a file has it.

describe('a full disk', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend: 'sqlite' });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('reports a full disk to the caller and in /readyz, and a retry completes the same payment once space is back', async () => {
    // Cap the file at its size and fill what is left: the next writes hit SQLITE_FULL.
    h.daemon.db.exec('CREATE TABLE filler (x BLOB)');
    h.daemon.db.pragma(`max_page_count = ${(h.daemon.db.pragma('page_count', { simple: true }) as number) + 2}`);
    const fill = h.daemon.db.prepare('INSERT INTO filler VALUES (randomblob(?))');
    for (const size of [4000, 1000, 200, 50, 10, 1, 0]) {
      try {
        for (;;) fill.run(size);
      } catch {
        // full at this size: try smaller ones to use up the last bytes
      }
    }
    const ordersBefore = h.sim.stats().ordersCreated;
    const request = { headers: { ...h.auth(), 'Idempotency-Key': 'disk-full-1' }, json: { amountMinor: 100, currency: 'NZD', merchantReference: 'FULL-1' } };
    try {
      const res = await call<{ error: { code: string; message: string } }>(`${h.url}/v1/payments`, request);
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'storage_unavailable', message: expect.stringContaining('disk is full') });
      await h.daemon.jobs.find((j) => j.name === 'readiness-probe')?.run();
      const ready = await call<{ checks: { database: { ok: boolean; detail: string } } }>(`${h.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database.ok).toBe(false);
      // whatever fitted is consistent: at most the request, never an order we did not record as such
      const stored = h.daemon.db.prepare("SELECT state FROM payments WHERE merchant_reference = 'FULL-1'").all() as Array<{ state: string }>;
      expect(stored.every((p) => p.state === 'created')).toBe(true);
    } finally {
      h.daemon.db.pragma('max_page_count = 1073741823');
      h.daemon.db.exec('DROP TABLE filler');
    }
    await h.daemon.jobs.find((j) => j.name === 'readiness-probe')?.run();
    expect((await call(`${h.url}/readyz`)).status).toBe(200);
    const retry = await call<PaymentJson>(`${h.url}/v1/payments`, request);
    expect([200, 201]).toContain(retry.status);
    expect(retry.body.state).toBe('awaiting_customer');
    expect(h.sim.stats().ordersCreated - ordersBefore).toBeLessThanOrEqual(1);
    expect(h.daemon.db.prepare("SELECT count(*) AS n FROM payments WHERE merchant_reference = 'FULL-1'").get()).toEqual({ n: 1 });
  });
});
