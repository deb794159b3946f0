import { copyFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

/**
 * The daemon copies its WAL into the database file on a thread of its own (see
 * src/shared/db/checkpointer.ts), so no COMMIT on its event loop pays for a checkpoint. The
 * harness's daemons leave checkpoints to SQLite; this one runs as deployed.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ walFlush: { backgroundCheckpoints: true } });
});
afterAll(async () => {
  await h.stop();
});

/** The payment as the database file itself holds it, without the WAL beside it. */
function inFile(id: string): { id: string; amount_minor: number } | undefined {
  const copy = `${h.dbPath}.copy`;
  copyFileSync(h.dbPath, copy);
  const db = new Database(copy, { readonly: true });
  try {
    return db.prepare('SELECT id, amount_minor FROM payments WHERE id = ?').get(id) as { id: string; amount_minor: number } | undefined;
  } finally {
    db.close();
    rmSync(copy, { force: true });
  }
}

describe('the WAL checkpointed off the event loop', () => {
  it('copies a payment into the database file soon after its answer, with no other write to push it', async () => {
    const res = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': 'checkpoint-1' }, json: { amountMinor: 4200, currency: 'NZD', merchantReference: 'CKPT-1' } });
    expect(res.status, res.text).toBe(201);
    // A few pages: far below SQLite's 1,000-page threshold, so only the thread copies them.
    await eventually(() => expect(inFile(res.body.id)).toEqual({ id: res.body.id, amount_minor: 4200 }), 10_000);
  });

  it("runs the daemon's purge with the checkpointer's pace between batches, and the file ends without what it deleted", async () => {
    const res = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': 'checkpoint-2' }, json: { amountMinor: 1100, currency: 'NZD', merchantReference: 'CKPT-2' } });
    expect(res.status, res.text).toBe(201);
    await h.sim.approve(res.body.partpay?.orderId as string);
    await eventually(async () => expect((await call<PaymentJson>(`${h.url}/v1/payments/${res.body.id}`, { headers: h.auth() })).body.state).toBe('approved'));
    await h.sql('UPDATE payments SET final_at = ? WHERE id = ?', Date.now() - 401 * 86_400_000, res.body.id);
    await eventually(() => expect(inFile(res.body.id)).toBeDefined(), 10_000);
    const result = await h.daemon.backend.purge(Date.now(), { paymentDays: 400, otherDays: 90, idempotencyKeyHours: 48 });
    expect(result.payments).toBe(1);
    // Each batch waited for the checkpoint of the one before; the last is copied soon after.
    await eventually(() => expect(inFile(res.body.id)).toBeUndefined(), 10_000);
  });
});
