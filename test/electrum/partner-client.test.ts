import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPartnerClient } from '../../src/electrum/partner-client.js';
import { createLogger } from '../../src/shared/logger.js';
import { createElectrumPartnerSimulator, type ElectrumPartnerSimulator } from '../../src/simulator/electrum-partner/index.js';
import { expectElectrum } from '../support/swagger.js';
import * as ex from './examples.js';

const PASSWORD = 'partner-side-password-never-logged';
const expects = { username: 'tenderbridge', password: PASSWORD };
/** The partners here are plain http on loopback: allowed explicitly, as the demo and test configs do. */
const LOOPBACK = { key: 'electrum.partnerNetwork', allowLoopbackHttp: true } as const;

describe('Electrum partner client against the partner simulator', () => {
  let sim: ElectrumPartnerSimulator;
  let baseUrl: string;
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    stream: new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  const client = (overrides: { password?: string; timeoutMs?: number; baseUrl?: string } = {}) =>
    createPartnerClient({ baseUrl: overrides.baseUrl ?? baseUrl, username: expects.username, password: overrides.password ?? PASSWORD, timeoutMs: overrides.timeoutMs ?? 5_000, logger, network: LOOPBACK });

  beforeAll(async () => {
    sim = createElectrumPartnerSimulator({ expects, partnerId: ex.partner.id, partnerName: ex.partner.name });
    baseUrl = `${await sim.listen(0)}/qr/v1`;
  });
  afterAll(async () => {
    await sim.close();
  });

  const request = (amountMinor: number) => ({ ...ex.paymentRequest(amountMinor), id: crypto.randomUUID() });

  it('gets a spec-valid PaymentResponse for an approved payment', async () => {
    const req = request(1234);
    const result = await client().pay(req);
    if (result.kind !== 'success') throw new Error(`expected success, got ${JSON.stringify(result)}`);
    expect(result.status).toBe(201);
    expectElectrum('PaymentResponse', result.body);
    expect(result.body).toMatchObject({ id: req.id, tranId: req.tranId, partnerPaymentToken: req.partnerPaymentToken, partner: ex.partner, amounts: { requestAmount: ex.nzd(1234), approvedAmount: ex.nzd(1234) } });
    expect(result.body.thirdPartyIdentifiers).toEqual(expect.arrayContaining([...req.thirdPartyIdentifiers, expect.objectContaining({ institutionId: ex.partner.id })]));
  });

  it('classifies a decline as failed with the ErrorDetail', async () => {
    const result = await client().pay(request(1251));
    expect(result).toMatchObject({ kind: 'failed', status: 400, error: { errorType: 'DECLINED_BY_PARTNER' } });
    if (result.kind === 'failed') expectElectrum('ErrorDetail', result.error);
  });

  it('classifies a payment that is never answered as unknown after the timeout', async () => {
    // never answered: without the timeout this would hang until the test's own timeout
    const result = await client({ timeoutMs: 300 }).pay(request(1252));
    expect(result).toEqual({ kind: 'unknown', status: null, reason: 'timeout' });
  });

  it('classifies a wrong password as failed 401', async () => {
    const result = await client({ password: 'wrong' }).pay(request(1234));
    expect(result).toMatchObject({ kind: 'failed', status: 401 });
  });

  it('confirms an approved payment and gets the echo', async () => {
    // The example confirmation states a final amount of 1234: the payment it confirms was approved for that.
    const req = request(1234);
    expect((await client().pay(req)).kind).toBe('success');
    const confirmation = { ...ex.paymentConfirmation(), id: crypto.randomUUID(), requestId: req.id };
    const result = await client().confirm(confirmation);
    expect(result).toEqual({ kind: 'success', status: 202, body: confirmation });
  });

  it('counts a 404 on a reversal as success (nothing to reverse) but not on a confirmation', async () => {
    const reversal = { ...ex.paymentReversal(), id: crypto.randomUUID(), requestId: crypto.randomUUID() };
    expect(await client().reverse(reversal)).toEqual({ kind: 'success', status: 404, body: null });
    const confirmation = { ...ex.paymentConfirmation(), id: crypto.randomUUID(), requestId: crypto.randomUUID() };
    expect(await client().confirm(confirmation)).toMatchObject({ kind: 'failed', status: 404, error: { errorType: 'UNABLE_TO_LOCATE_RECORD' } });
  });

  it('reverses a payment that timed out', async () => {
    const req = request(2052);
    expect((await client({ timeoutMs: 200 }).pay(req)).kind).toBe('unknown');
    const reversal = { ...ex.paymentReversal(), id: crypto.randomUUID(), requestId: req.id, reversalReason: 'TIMEOUT' as const };
    expect(await client().reverse(reversal)).toMatchObject({ kind: 'success', status: 202 });
    expect(sim.payment(req.id)?.state).toBe('reversed');
  });

  it('never logs the password', () => {
    const all = logLines.join('');
    expect(all).toContain('electrum partner call');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(Buffer.from(`${expects.username}:${PASSWORD}`).toString('base64'));
  });
});

describe('Electrum partner client status rules', () => {
  let server: Server;
  let baseUrl: string;
  let answer: { status: number; body?: unknown; stallBody?: boolean } = { status: 200 };
  let connections = 0;
  const logger = createLogger({ level: 'error', silent: true });

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        // A stalled body: the headers and a first chunk, then nothing more.
        if (answer.stallBody) res.write('{"id":');
        else res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    server.on('connection', () => connections++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/qr/v1`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = () => createPartnerClient({ baseUrl, username: 'u', password: 'p', timeoutMs: 2_000, logger, network: LOOPBACK });
  const detail = { id: 'e1', errorType: 'UPSTREAM_UNAVAILABLE', errorMessage: 'Down' };

  it.each([
    [500, 'unknown'],
    [504, 'unknown'],
    [503, 'failed'],
    [501, 'failed'],
    [400, 'failed'],
    [404, 'failed'],
    [302, 'failed'],
  ])('pay answered %i is %s', async (status, kind) => {
    answer = { status, body: detail };
    const result = await client().pay(ex.paymentRequest());
    expect(result.kind).toBe(kind);
    expect(result.status).toBe(status);
    if (result.kind !== 'success') expect(result.error).toEqual(detail);
  });

  it('treats a 201 whose body is not a PaymentResponse as unknown (money may have moved)', async () => {
    answer = { status: 201, body: { hello: 'world' } };
    expect(await client().pay(ex.paymentRequest())).toMatchObject({ kind: 'unknown', status: 201 });
  });

  it('keeps a failure without a readable ErrorDetail', async () => {
    answer = { status: 503 };
    expect(await client().pay(ex.paymentRequest())).toMatchObject({ kind: 'failed', status: 503, error: null });
  });

  it('accepts an advice answered 202 without a body', async () => {
    answer = { status: 202 };
    expect(await client().confirm(ex.paymentConfirmation())).toEqual({ kind: 'success', status: 202, body: null });
  });

  it('calls a body that stalls after a 201 unknown once the timeout passes', async () => {
    answer = { status: 201, stallBody: true };
    const result = await createPartnerClient({ baseUrl, username: 'u', password: 'p', timeoutMs: 200, logger, network: LOOPBACK }).pay(ex.paymentRequest());
    expect(result).toEqual({ kind: 'unknown', status: null, reason: 'timeout' });
  });

  it('calls a refused connection unknown', async () => {
    const closed = createPartnerClient({ baseUrl: 'http://127.0.0.1:1/qr/v1', username: 'u', password: 'p', timeoutMs: 2_000, logger, network: LOOPBACK });
    const result = await closed.pay(ex.paymentRequest());
    expect(result).toMatchObject({ kind: 'unknown', status: null });
    if (result.kind === 'unknown') expect(result.reason).toMatch(/network error/);
  });

  it('refuses a partner on http unless loopback http is allowed, and then only to a loopback host', () => {
    expect(() => createPartnerClient({ baseUrl, username: 'u', password: 'p', timeoutMs: 1_000, logger })).toThrow(/http:\/\/ is refused: https only/);
    expect(() => createPartnerClient({ baseUrl: 'http://wallet.example/qr/v1', username: 'u', password: 'p', timeoutMs: 1_000, logger, network: LOOPBACK })).toThrow(/allowed only to a loopback host/);
  });

  it('refuses a partner whose name resolves to a loopback address, checking the address before connecting', async () => {
    const port = (server.address() as AddressInfo).port;
    const before = connections;
    const named = createPartnerClient({ baseUrl: `https://localhost:${port}/qr/v1`, username: 'u', password: 'p', timeoutMs: 2_000, logger });
    const result = await named.pay(ex.paymentRequest());
    expect(result).toMatchObject({ kind: 'unknown', status: null });
    if (result.kind === 'unknown') expect(result.reason).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address, not allowed by electrum\.partnerNetwork\.allowedAddresses/);
    expect(connections).toBe(before);
  });

  it('refuses credentials in the base URL', () => {
    expect(() => createPartnerClient({ baseUrl: 'http://u:p@127.0.0.1/qr/v1', username: 'u', password: 'p', timeoutMs: 1_000, logger, network: LOOPBACK })).toThrow();
  });
});
