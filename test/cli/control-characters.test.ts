import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseConfig, runTb, tempDir, writeConfig } from './support.js';

// Issue 17 item 4: stored text (a merchant reference from an old Electrum rrn, a raw callback
// body) reached the operator's terminal with its escape sequences. Human output shows every
// control character as a visible \u escape; --json keeps the value, escaped.

const HOSTILE = 'R\u001b[2J\u001b]0;owned\u0007\rX\u009b31m\u202eexe.txt';
// eslint-disable-next-line no-control-regex -- what must never reach the terminal
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const ID = '6102cc0a-5d1e-4c59-9b0f-2a7c0b3a1d11';

let dir: string;
let config: string;
beforeAll(async () => {
  dir = tempDir();
  config = writeConfig(dir, baseConfig(dir));
  expect((await runTb(['db', 'migrate', '--config', config])).code).toBe(0);
  const db = new Database(join(dir, 'tb.db'));
  db.prepare(
    `INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, upstream_order_id, error_code, error_message, created_at, updated_at, expires_at)
     VALUES (?, 'electrum', 'TERM0001', 'S1', 'm1', ?, 100, 'NZD', 'failed', ?, 'upstream_unavailable', ?, 1, 1, 2)`,
  ).run(ID, HOSTILE, `pay-${HOSTILE}`, `partner said ${HOSTILE}`);
  db.prepare("INSERT INTO payment_events (payment_id, at, kind, actor, detail, raw_body) VALUES (?, 1, 'callback', 'partpay', ?, ?)").run(ID, JSON.stringify({ note: HOSTILE }), `orderId=${HOSTILE}`);
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('control characters in stored text', () => {
  it.each([
    ['payments list', ['payments', 'list']],
    ['payments show', ['payments', 'show', ID]],
  ])('never reach the terminal through %s', async (_what, argv) => {
    const run = await runTb([...argv, '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('R\\u001b[2J');
    expect(run.stdout).not.toMatch(CONTROLS);
  });

  it('are kept, escaped, in --json output', async () => {
    const run = await runTb(['payments', 'show', ID, '--json', '--config', config]);
    expect(run.stdout).not.toMatch(CONTROLS);
    expect(run.json<{ payment: { merchantReference: string } }>().payment.merchantReference).toBe(HOSTILE);
  });

  it('never reach the terminal through an error message', async () => {
    const run = await runTb(['payments', 'show', `nope${HOSTILE}`, '--config', config]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).not.toMatch(CONTROLS);
  });
});
