import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsv, readCsvRecords } from '../support/csv.js';
import { eventually, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { operatorAuth, startWebHarness } from '../web/support.js';

// Issue 11 item 8: a terminal chooses its merchantReference freely (printable ASCII, so `=`,
// `+`, `-` and `@` are allowed). Exported as-is into the console's CSV, a spreadsheet runs it
// as a formula when the operator opens the file. Text cells that could start a formula are
// written with a leading single quote; numbers stay numbers.

const HOSTILE = ['=HYPERLINK("http://evil","x")', '@SUM(1+1)', '+1+1', '-1+1'] as const;

let h: Harness;
const created = new Map<string, PaymentJson>();
beforeAll(async () => {
  h = await startWebHarness({ simulator: { autoDecideAfterMs: null } });
  for (const [i, reference] of HOSTILE.entries()) {
    const res = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': `csv-${i}` }, json: { amountMinor: 1234 + i, currency: 'NZD', merchantReference: reference } });
    expect(res.status, res.text).toBe(201);
    created.set(reference, res.body);
  }
  const first = created.get(HOSTILE[0]);
  await call(`${h.sim.url()}/phone/api/orders/${first?.partpay?.orderId}/approve`, { method: 'POST' });
  await eventually(async () => (await h.daemon.store.repos.payments.get(first?.id ?? ''))?.state === 'approved');
});
afterAll(async () => {
  await h.stop();
});

const download = async (path: string) => {
  const res = await fetch(`${h.url}/console/api/${path}`, { headers: { Authorization: operatorAuth() } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
  return res.text();
};

it('writes merchant references that would start a formula with a leading quote in the console export, and amounts as plain numbers', async () => {
  const text = await download('payments.csv');
  const rows = readCsvRecords(text);
  for (const [i, reference] of HOSTILE.entries()) {
    const row = rows.find((r) => r.id === created.get(reference)?.id);
    expect(row?.merchant_reference, reference).toBe(`'${reference}`);
    expect(row?.amount_minor).toBe(String(1234 + i));
    expect(row?.refunded_minor).toBe('0');
  }
  // numbers are unquoted and unprefixed in the file itself
  expect(text).toMatch(/,1234,NZD,approved,0,/);
  // every cell a spreadsheet could read as a formula is neutralised
  for (const cell of readCsv(text).flat()) expect(cell, cell).not.toMatch(/^[=+\-@\t\r]/);
});

it('keeps the end-of-day report CSV free of formulas, with its amounts and counts unchanged', async () => {
  const text = await download('report.csv');
  const terminal = readCsvRecords(text).find((r) => r.level === 'terminal' && r.terminal === 'TERM0001');
  expect(terminal).toMatchObject({ store: 'S1', currency: 'NZD', approved_count: '1', approved_amount: '12.34', open_count: '3', refunds_amount: '0.00' });
  expect(text).toContain('terminal,S1,TERM0001,NZD,1,12.34,');
  for (const cell of readCsv(text).flat()) expect(cell, cell).not.toMatch(/^[=+\-@\t\r']/);
});
