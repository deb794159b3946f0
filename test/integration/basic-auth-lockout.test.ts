import { afterAll, beforeAll, expect, it } from 'vitest';
import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import { electrumPos, untilPayWaits } from '../support/electrum-pos.js';
import { ELECTRUM, startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';

// Issue 11 item 6: Electrum client and partner ids are not secret. When the per-credential
// failure window was keyed on the basic-auth user name alone, anyone on the network could
// send a few wrong passwords for `pos-1` and keep the real POS out with 429 for a minute.
// The attacker plays another machine by sending from 127.0.0.2 (all of 127/8 is loopback).

const PER_SOURCE = 10;
const PER_CREDENTIAL = 3;
const ATTACKER = '127.0.0.2';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ electrum: {}, config: { server: { authFailures: { perSourcePerMinute: PER_SOURCE, perCredentialPerMinute: PER_CREDENTIAL } } } });
});
afterAll(async () => {
  await h.stop();
});

/** The real parties' normal flow: the POS gets a code and pays, the partner scans it; both answers. */
async function payWithScan(partner: 'a' | 'b') {
  const pos = electrumPos(h);
  const code = await pos.createQrCode(pos.qrRequest(1000));
  expect(code.status, code.text).toBe(201);
  const request = pos.payRequest(code.body.tranId, 1000);
  const paying = pos.pay(request);
  await untilPayWaits(h, request.id);
  const scan = await h.partners?.[partner].scan(code.body.qrCode);
  return { scan: scan?.status, pay: (await paying).status };
}

it('one wrong password retried from many addresses is limited per credential', async () => {
  const stale = { Authorization: basicAuthHeader(ELECTRUM.partnerB.id, 'last-years-password') };
  const statuses: number[] = [];
  for (let i = 0; i <= PER_CREDENTIAL; i += 1) {
    statuses.push((await call(`${h.url}/qr/v1/scans`, { localAddress: `127.0.0.${10 + i}`, headers: stale, json: {} })).status);
  }
  expect(statuses).toEqual([...Array.from({ length: PER_CREDENTIAL }, () => 401), 429]);
  // the partner's current password is not held back by its stale one
  expect(await payWithScan('b')).toEqual({ scan: 202, pay: 201 });
});

it('wrong passwords for a POS and a partner id from another machine do not lock out the real POS and partner', async () => {
  const pos = electrumPos(h);
  const attacker: number[] = [];
  let last: Awaited<ReturnType<typeof call>> | null = null;
  for (let i = 0; i < PER_SOURCE + 2; i += 1) {
    const [path, user] = i % 2 === 0 ? ['/qrCodes', ELECTRUM.pos.id] : ['/scans', ELECTRUM.partnerA.id];
    last = await call(`${h.url}/qr/v1${path}`, { localAddress: ATTACKER, headers: { Authorization: basicAuthHeader(user, `guess-${i}`) }, json: pos.qrRequest() });
    attacker.push(last.status);
  }
  // the limiter still stops the attacker (here by its source address)...
  expect(attacker).toContain(401);
  expect(attacker.at(-1)).toBe(429);
  expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);

  // ...while the real POS and partner, from their own address with their own passwords, are served
  expect(await payWithScan('a')).toEqual({ scan: 202, pay: 201 });
});
