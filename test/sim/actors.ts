import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import type { PartnerPeer } from './partner-peer.js';
import { SIM } from './sim-config.js';
import type { Answer, World } from './world.js';

/** What a till learnt of one sale: its final answer ("paid", "not paid", or never known), and the refunds it was told were made. */
export interface TillSale {
  kind: 'partpay';
  paymentId: string | null;
  amountMinor: number;
  told: 'paid' | 'not_paid' | null;
  refundedMinor: number;
}

/** What an Electrum POS learnt and advised of one sale. */
export interface PosSale {
  kind: 'electrum';
  requestId: string;
  tranId: string | null;
  amountMinor: number;
  /** What pay answered: paid (the approved amount), not paid, or never known (504, a broken connection). */
  told: { paid: number } | 'not_paid' | null;
  /** The advice the POS sent and saw accepted (202), with the final amount it states. */
  advice: { kind: 'confirmation' | 'reversal'; finalMinor: number | null; acknowledged: boolean } | null;
}

export type Sale = TillSale | PosSale;

const FINAL = new Set(['approved', 'declined', 'cancelled', 'expired', 'failed', 'partially_refunded', 'refunded', 'reversed']);
const PAID = new Set(['approved', 'partially_refunded', 'refunded']);
const retryable = (a: Answer) => a.status === 0 || a.status >= 500;

/** Sends a request until it gets an answer that is not a broken connection or a 5xx (a real till retries with the same key). */
async function persist(world: World, attempts: number, send: () => Promise<Answer>): Promise<Answer> {
  let answer = await send();
  for (let i = 1; i < attempts && retryable(answer); i += 1) {
    await new Promise<void>((resolve) => world.after(world.rng.int('actor.retry', 200, 3_000), resolve));
    answer = await send();
  }
  return answer;
}

/**
 * A till on the native API selling one thing through PartPay: create (retried with the same
 * Idempotency-Key), follow the outcome by long-poll, sometimes cancel, sometimes refund part
 * or all, sometimes give up following.
 */
export async function tillSale(world: World, till: (typeof SIM.terminals)[number], sale: TillSale, partpay: { show: (orderId: string) => void; approveNow: (orderId: string) => void }): Promise<void> {
  const rng = world.rng;
  const auth = { authorization: `Bearer ${till.key}` };
  const key = rng.uuid('till.key');
  const body = { amountMinor: sale.amountMinor, currency: 'NZD', merchantReference: `SIM-${key.slice(0, 8)}` };
  const created = await persist(world, 4, () => world.request('POST', '/v1/payments', { ...auth, 'idempotency-key': key }, body));
  world.trace(`till ${till.id}: create ${sale.amountMinor} -> ${created.status} ${created.text.slice(0, 100)}`);
  const p = created.body as { id?: string; version?: number; state?: string; partpay?: { orderId?: string } | null; error?: { details?: { paymentId?: string } } } | null;
  sale.paymentId = p?.id ?? p?.error?.details?.paymentId ?? null;
  // The till shows the QR: only now can the customer pay.
  const orderId = p?.partpay?.orderId;
  if (orderId) partpay.show(orderId);
  if (created.status !== 201 && created.status !== 200) {
    if (created.status >= 400 && created.status < 600 && sale.paymentId) sale.told = 'not_paid';
    return;
  }
  let version = p?.version ?? 1;
  let state = p?.state ?? 'created';
  const cancelAt = rng.chance('till.cancel', 0.25) ? world.now() + rng.int('till.cancel.at', 500, 70_000) : Infinity;
  const giveUpAt = world.now() + (rng.chance('till.giveup', 0.1) ? rng.int('till.giveup.at', 1_000, 30_000) : 120_000);
  while (!FINAL.has(state) && world.now() < giveUpAt) {
    if (world.now() >= cancelAt) {
      // The customer approves in the app at the moment the till cancels.
      if (orderId && rng.chance('till.cancel.race', 0.3)) world.after(rng.int('till.cancel.race.at', 0, 8_000), () => partpay.approveNow(orderId));
      const cancelled = await persist(world, 3, () => world.request('POST', `/v1/payments/${sale.paymentId}/cancel`, auth, {}));
      world.trace(`till ${till.id}: cancel ${sale.paymentId?.slice(0, 8)} -> ${cancelled.status}`);
      const c = cancelled.body as { state?: string } | null;
      if (cancelled.status === 200 && c?.state) state = c.state;
      if (cancelled.status === 200 || cancelled.status === 409) break;
    }
    const wait = Math.max(1, Math.min(10, Math.ceil((Math.min(cancelAt, giveUpAt) - world.now()) / 1000)));
    const polled = await world.request('GET', `/v1/payments/${sale.paymentId}?wait=${wait}&version=${version}`, auth);
    if (polled.status !== 200) world.trace(`till ${till.id}: poll -> ${polled.status} ${polled.text.slice(0, 120)}`);
    if (polled.status === 200 && polled.body) {
      version = Number(polled.body['version']);
      state = String(polled.body['state']);
    } else {
      await new Promise<void>((resolve) => world.after(500, resolve));
    }
  }
  const now = await persist(world, 3, () => world.request('GET', `/v1/payments/${sale.paymentId}`, auth));
  if (now.status === 200 && now.body) state = String(now.body['state']);
  if (!FINAL.has(state)) return;
  sale.told = PAID.has(state) ? 'paid' : 'not_paid';
  world.trace(`till ${till.id}: ${sale.paymentId?.slice(0, 8)} told ${sale.told} (${state})`);
  if (sale.told !== 'paid' || !rng.chance('till.refund', 0.3)) return;
  const partial = rng.chance('till.refund.partial', 0.5);
  const refundBody = partial ? { amountMinor: Math.max(1, Math.floor(sale.amountMinor / 3)) } : {};
  const refundKey = rng.uuid('till.refund.key');
  const refunded = await persist(world, 4, () => world.request('POST', `/v1/payments/${sale.paymentId}/refunds`, { ...auth, 'idempotency-key': refundKey }, refundBody));
  world.trace(`till ${till.id}: refund ${sale.paymentId?.slice(0, 8)} -> ${refunded.status}`);
  const r = refunded.body?.['refund'] as { state?: string; amountMinor?: number } | undefined;
  if (refunded.status === 201 && r?.state === 'succeeded') sale.refundedMinor += r.amountMinor ?? 0;
}

/**
 * An Electrum POS selling one thing: a QR code, a held pay, the customer scanning with one of
 * the partners (or not, or twice, or late), then an advice: a confirmation (of all or less) or a
 * reversal (of all or to a final amount), each retried with the same id until accepted.
 * Sometimes the till cancels through /v1 while the pay is held.
 */
export async function posSale(world: World, lane: number, partners: readonly PartnerPeer[], sale: PosSale): Promise<void> {
  const rng = world.rng;
  const auth = { authorization: basicAuthHeader(SIM.pos.id, SIM.pos.password) };
  const terminalId = SIM.pos.terminals[lane] as string;
  const originator = { institution: { id: '4021', name: 'Sim Retail' }, terminalId, merchant: { merchantType: '5411', merchantId: '000000012345678', merchantName: { name: 'Sim Store', city: 'Auckland', region: 'AK', country: 'NZ' } } };
  const client = { id: SIM.pos.id, name: 'Sim POS' };
  const time = () => new Date(world.now()).toISOString();
  const amount = { amount: sale.amountMinor, currency: '554' };
  const code = await persist(world, 4, () => world.request('POST', '/qr/v1/qrCodes', auth, { id: rng.uuid('pos.id'), time: time(), originator, client, qrProperties: { value: amount } }));
  if (code.status !== 201 || !code.body) return;
  sale.tranId = String(code.body['tranId']);
  const request = { id: sale.requestId, time: time(), originator, client, thirdPartyIdentifiers: [{ institutionId: '4021', transactionIdentifier: sale.requestId.slice(0, 12) }], amounts: { requestAmount: amount }, tranId: sale.tranId, tranType: 'GOODS_AND_SERVICES' };
  const partner = rng.pick('pos.partner', partners);
  const partnerSim = SIM.partners.find((p) => p.id === partner.id) as (typeof SIM.partners)[number];
  const scan = () =>
    world.request('POST', '/qr/v1/scans', { authorization: basicAuthHeader(partnerSim.id, partnerSim.password) }, { id: rng.uuid('scan.id'), time: time(), partner: { id: partnerSim.id, name: partnerSim.name }, tranId: sale.tranId, partnerPaymentToken: rng.uuid('scan.token').slice(0, 16) });
  const scanRoll = rng.next('pos.scan');
  if (scanRoll < 0.85) {
    const at = rng.int('pos.scan.at', 50, scanRoll < 0.8 ? 15_000 : 30_000);
    world.after(at, async () => {
      const first = await scan();
      world.trace(`partner ${partner.id}: scan ${sale.tranId?.slice(0, 8)} -> ${first.status}`);
      if (rng.chance('pos.scan.twice', 0.1)) await scan();
    });
  }
  // The till cancels through the native API while the pay is held (a till speaking both).
  if (rng.chance('pos.v1cancel', 0.05)) {
    world.after(rng.int('pos.v1cancel.at', 100, 15_000), async () => {
      const [row] = await world.sql<{ payment_id: string }>('SELECT payment_id FROM electrum_payments WHERE request_id = ?', sale.requestId);
      if (!row) return;
      const res = await world.request('POST', `/v1/payments/${row.payment_id}/cancel`, { authorization: `Bearer ${SIM.pos.keys[lane]}` }, {});
      world.trace(`lane ${terminalId}: /v1 cancel -> ${res.status}`);
    });
  }
  // Some POS clients give up on a pay sooner than the daemon does (their own timeout), and reverse it.
  const giveUp = rng.chance('pos.giveup', 0.3) ? rng.int('pos.giveup.at', 2_000, 30_000) : undefined;
  const paid = await world.request('POST', '/qr/v1/payments', auth, request, giveUp === undefined ? {} : { giveUpAfterMs: giveUp });
  world.trace(`pos ${terminalId}: pay ${sale.requestId.slice(0, 8)} -> ${paid.status}`);
  if (paid.status === 201) {
    const approved = (paid.body?.['amounts'] as { approvedAmount?: { amount: number } } | undefined)?.approvedAmount?.amount ?? sale.amountMinor;
    sale.told = { paid: approved };
  } else if (paid.status === 400 || paid.status === 503) {
    sale.told = 'not_paid';
  }
  // Then the advice: the spec asks the POS to reverse what it never heard the end of.
  const roll = rng.next('pos.advice');
  const told = sale.told;
  let advice: { kind: 'confirmation' | 'reversal'; finalMinor: number | null } | null;
  if (told === null) advice = { kind: 'reversal', finalMinor: null };
  else if (told === 'not_paid') advice = rng.chance('pos.reverse.anyway', 0.1) ? { kind: 'reversal', finalMinor: null } : null;
  else if (roll < 0.55) advice = { kind: 'confirmation', finalMinor: null };
  else if (roll < 0.65 && told.paid > 1) advice = { kind: 'confirmation', finalMinor: rng.int('pos.final', 1, told.paid - 1) };
  else if (roll < 0.8) advice = { kind: 'reversal', finalMinor: null };
  else if (roll < 0.9 && told.paid > 1) advice = { kind: 'reversal', finalMinor: rng.int('pos.final', 1, told.paid - 1) };
  else advice = null;
  if (!advice) return;
  const adviceBody = {
    id: rng.uuid('pos.advice.id'),
    requestId: sale.requestId,
    time: time(),
    thirdPartyIdentifiers: request.thirdPartyIdentifiers,
    ...(advice.finalMinor === null ? {} : { amounts: { approvedAmount: { amount: advice.finalMinor, currency: '554' } } }),
    ...(advice.kind === 'reversal' ? { reversalReason: told === null ? 'TIMEOUT' : 'CANCELLED' } : {}),
  };
  const path = advice.kind === 'confirmation' ? '/qr/v1/payments/confirmations' : '/qr/v1/payments/reversals';
  const sent = await persist(world, 6, () => world.request('POST', path, auth, adviceBody));
  world.trace(`pos ${terminalId}: ${advice.kind} ${sale.requestId.slice(0, 8)} final ${advice.finalMinor ?? 'all'} -> ${sent.status}`);
  sale.advice = { ...advice, acknowledged: sent.status === 202 };
}
