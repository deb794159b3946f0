import { randomUUID } from 'node:crypto';
import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import { ELECTRUM, eventually, type Harness } from './harness.js';
import { call, type JsonResponse } from './http.js';
import { electrumOperation, validateElectrum } from './swagger.js';

/** A POS device speaking Electrum QR v1.7.0 to the harness daemon. Every answer is checked against the spec. */
export function electrumPos(h: Pick<Harness, 'url'>, who: typeof ELECTRUM.pos | typeof ELECTRUM.posPartPay | typeof ELECTRUM.pos2 = ELECTRUM.pos) {
  const auth = { Authorization: basicAuthHeader(who.id, who.password) };
  const originator = {
    institution: { id: '4021', name: 'Test Grocers Ltd' },
    terminalId: who.terminal,
    merchant: { merchantType: '5411', merchantId: '000000012345678', merchantName: { name: 'Test Grocers', city: 'Auckland', region: 'AK', country: 'NZ' } },
  };
  const client = { id: who.id, name: 'Test POS' };
  const thirdPartyIdentifiers = [{ institutionId: '4021', transactionIdentifier: 'till-7-001' }];
  const now = () => new Date().toISOString();

  /** Posts and asserts the answer matches the spec: a success has the operation's status, and every body its definition. */
  async function post<T = Record<string, unknown>>(path: string, body: unknown, okDefinition: string | null, headers: Record<string, string> = auth): Promise<JsonResponse<T>> {
    const res = await call<T>(`${h.url}/qr/v1${path}`, { headers, json: body });
    const success = res.status >= 200 && res.status < 300;
    if (success) {
      const declared = Object.keys(electrumOperation(`/qr/v1${path}`).responses).filter((s) => s.startsWith('2'));
      if (!declared.includes(String(res.status))) throw new Error(`${path} answered ${res.status}; the spec's success is ${declared.join(' or ')}\n${res.text}`);
    }
    const definition = success ? okDefinition : 'ErrorDetail';
    if (definition) {
      const errors = validateElectrum(definition, res.body);
      if (errors.length > 0) throw new Error(`${path} answered ${res.status} with a body that is not a valid ${definition}: ${errors.join('; ')}\n${res.text}`);
    }
    return res;
  }

  return {
    auth,
    originator,
    client,
    qrRequest: (amountMinor: number | null = 1000, extra: Record<string, unknown> = {}) => ({
      id: randomUUID(),
      time: now(),
      originator,
      client,
      qrProperties: { ...(amountMinor === null ? {} : { value: { amount: amountMinor, currency: '554' } }), ...extra },
    }),
    payRequest: (tranId: string, amountMinor = 1000) => ({
      id: randomUUID(),
      time: now(),
      originator,
      client,
      thirdPartyIdentifiers,
      amounts: { requestAmount: { amount: amountMinor, currency: '554' } },
      tranId,
      tranType: 'GOODS_AND_SERVICES',
    }),
    confirmation: (requestId: string) => ({ id: randomUUID(), requestId, time: now(), thirdPartyIdentifiers }),
    reversal: (requestId: string, reversalReason: 'TIMEOUT' | 'CANCELLED' | 'RESPONSE_NOT_FINAL' = 'CANCELLED') => ({ id: randomUUID(), requestId, time: now(), thirdPartyIdentifiers, reversalReason }),
    createQrCode: (body: unknown, headers?: Record<string, string>) => post<{ tranId: string; qrCode: string; id: string }>('/qrCodes', body, 'CreateQrCodeResponse', headers),
    pay: (body: unknown, headers?: Record<string, string>) => post<Record<string, unknown>>('/payments', body, 'PaymentResponse', headers),
    confirm: (body: unknown, headers?: Record<string, string>) => post('/payments/confirmations', body, 'PaymentConfirmation', headers),
    reverse: (body: unknown, headers?: Record<string, string>) => post('/payments/reversals', body, 'PaymentReversal', headers),
    post,
  };
}

/**
 * Resolves once the daemon holds the pay `requestId` open for a scan: its `electrum_payments`
 * row is committed before the wait begins, so a scan from then on finds it waiting.
 * Request ids are per POS client: give `clientId` when another client may use the same id.
 * Used instead of a fixed pause between sending the pay and scanning. Reads through the
 * daemon's storage port, so it holds on either database.
 */
export async function untilPayWaits(h: Pick<Harness, 'daemon'>, requestId: string, clientId?: string, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => (await heldPayments(h, requestId, clientId)).length > 0, timeoutMs, 10);
}

/**
 * The tenderbridge payment behind the Electrum pay `requestId` (of `clientId` when given); throws
 * if the daemon holds none. Reads through the daemon's storage port (either database).
 * @example
 * const id = await paymentIdOf(h, request.id);
 */
export async function paymentIdOf(h: Pick<Harness, 'daemon'>, requestId: string, clientId?: string): Promise<string> {
  const ids = await heldPayments(h, requestId, clientId);
  if (ids.length !== 1) throw new Error(`expected one payment for the Electrum request ${requestId}, found ${ids.length}`);
  return ids[0] as string;
}

async function heldPayments(h: Pick<Harness, 'daemon'>, requestId: string, clientId: string | undefined): Promise<string[]> {
  const repo = h.daemon.store.repos.electrum;
  if (clientId !== undefined) {
    const row = await repo.payment(clientId, requestId);
    return row ? [row.paymentId] : [];
  }
  // paymentIdsNamed also matches tran ids; request ids are random UUIDs, so only the pay's own row does.
  return repo.paymentIdsNamed(requestId);
}
