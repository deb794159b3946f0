import type { Sims } from '../chaos/sims-client.js';
import { dice, sleep } from '../chaos/support.js';
import { electrumPos } from '../support/electrum-pos.js';
import { OTHER_TERMINAL_KEY, TERMINAL_KEY } from '../support/harness.js';
import { tillCall, tillFinal, tillOnce, type Till } from './fleet-till.js';

/**
 * The sales of the fleet suite, each played by a till on "its" daemon that fails over to another
 * when its daemon dies: PartPay payments on the terminal API (approved, declined, cancelled,
 * refunded in full or in part) and Electrum sales (createQrCode, a pay held until the wallet's
 * scan, then a confirmation or a reversal, in full or for a final amount). Each returns what the
 * till was told, for the suite to hold against the simulators' books.
 */

export type PartPayPlan = 'approve' | 'decline' | 'cancel' | 'refund' | 'partial-refunds';

/** A PartPay sale as its terminal saw it. */
export interface PartPaySale {
  i: number;
  plan: PartPayPlan;
  amountMinor: number;
  id: string | null;
  /** The create's status when it did not create (else null). */
  createStatus: number | null;
  /** The error code of a create that did not create. */
  createError?: string | null;
  /** The final state the long-poll told (null: never final before the deadline). */
  told: string | null;
  /** Which daemon told it. */
  toldBy: number | null;
  /** Refunds answered 201/202 (owed or done): what the terminal was told will be given back. */
  refundsAcknowledged: number;
}

export type ElectrumPlan = 'confirm' | 'confirm-partial' | 'reverse' | 'reverse-partial';

/** An Electrum sale as its POS saw it. */
export interface ElectrumSale {
  i: number;
  plan: ElectrumPlan;
  amountMinor: number;
  /** Every pay's request id, in order; the last one's answer is `payStatus`. */
  requestIds: string[];
  /** Pays abandoned with a TIMEOUT reversal (no answer, or no final one). */
  abandoned: string[];
  payStatus: number;
  /** What each pay was answered (status, and the errorType of an error), and each scan the wallet sent that was not taken. */
  answers: string[];
  /** The request id of the pay answered 201 (null: none was). */
  approvedRequestId: string | null;
  approvedMinor: number | null;
  /** What the partner should keep at the end: the final amount of the advice, 0 when reversed in full. */
  expectedKeep: number;
}

export interface FleetContext {
  bases: readonly string[];
  sims: Sims;
  deadline: number;
}

const KEYS = [TERMINAL_KEY, OTHER_TERMINAL_KEY];

/**
 * PartPay sale `i` on a terminal of daemon `i % n`: create, the customer (or the terminal) decides, the long-poll hears it, refunds.
 * @example const sale = await partpaySale({ bases, sims, deadline }, 7, SEED); // { plan: 'refund', told: 'approved', refundsAcknowledged: 1234, ... }
 */
export async function partpaySale(ctx: FleetContext, i: number, seed: number): Promise<PartPaySale> {
  const d = dice(seed * 1_000 + i);
  const plan = d.pick<PartPayPlan>({ approve: 40, decline: 15, cancel: 15, refund: 15, 'partial-refunds': 15 });
  const amountMinor = d.int(100, 30_000);
  const till: Till = { bases: ctx.bases, home: i % ctx.bases.length, deadline: ctx.deadline };
  const auth = { Authorization: `Bearer ${KEYS[i % 2] as string}` };
  const sale: PartPaySale = { i, plan, amountMinor, id: null, createStatus: null, told: null, toldBy: null, refundsAcknowledged: 0 };
  const created = await tillCall<{ id: string; version: number; partpay: { orderId: string } | null; error?: { details?: { paymentId?: string } } }>(till, '/v1/payments', {
    headers: { ...auth, 'Idempotency-Key': `fleet-${i}` },
    json: { amountMinor, currency: 'NZD', merchantReference: `fleet-${i}` },
  });
  if (created.status !== 201 && created.status !== 200) {
    sale.createStatus = created.status;
    sale.createError = (created.body as { error?: { code?: string } }).error?.code ?? null;
    sale.id = created.body.error?.details?.paymentId ?? null;
    return sale;
  }
  sale.id = created.body.id;
  const orderId = created.body.partpay?.orderId as string;
  await sleep(d.int(0, 400));
  if (plan === 'decline') await ctx.sims.decline(orderId).catch(() => undefined);
  else if (plan === 'cancel') await tillCall(till, `/v1/payments/${sale.id}/cancel`, { headers: auth, json: {} });
  else await ctx.sims.approve(orderId).catch(() => undefined);
  const final = await tillFinal(till, auth, sale.id, created.body.version);
  sale.told = final.state;
  sale.toldBy = final.daemon;
  if (final.state !== 'approved') return sale;
  const refund = async (key: string, json: Record<string, unknown>) => {
    const res = await tillCall(till, `/v1/payments/${sale.id}/refunds`, { headers: { ...auth, 'Idempotency-Key': key }, json });
    if (res.status === 201 || res.status === 202) return true;
    throw new Error(`refund ${key} of payment ${String(sale.id)} answered ${res.status}: ${JSON.stringify(res.body)}`);
  };
  if (plan === 'refund') {
    if (await refund(`fleet-${i}-r1`, {})) sale.refundsAcknowledged = amountMinor;
  } else if (plan === 'partial-refunds') {
    const part = Math.max(1, Math.floor(amountMinor / 3));
    // Sometimes sent twice with its key (a till that did not hear the answer).
    for (let k = 0; k < (d.next() < 0.3 ? 2 : 1); k += 1) await refund(`fleet-${i}-r1`, { amountMinor: part });
    sale.refundsAcknowledged = part;
    if (d.next() < 0.5 && (await refund(`fleet-${i}-r2`, {}))) sale.refundsAcknowledged = amountMinor;
  }
  return sale;
}

const RETRYABLE = new Set([0, 500, 502, 503, 504]);

/** The wallet scans through the front until the held pay took it (a scan before the pay waits, or one cut off by a kill, is scanned again). */
async function scan(ctx: FleetContext, code: string, answered: () => boolean, answers: string[]): Promise<void> {
  await sleep(50);
  while (!answered() && Date.now() < ctx.deadline) {
    const res = await ctx.sims.scan(code).catch(() => null);
    if (res?.status === 202) {
      answers.push('scan 202');
      return;
    }
    answers.push(`scan ${res ? `${res.status} ${(res.body as { errorType?: string } | null)?.errorType ?? ''}` : 'unanswered'}`.trim());
    const waiting = res?.status === 400 && (res.body as { errorType?: string } | null)?.errorType === 'UNABLE_TO_LOCATE_RECORD';
    if (res && !waiting && !RETRYABLE.has(res.status)) return;
    await sleep(50);
  }
}

/**
 * Electrum sale `i` on POS daemon `i % n`: createQrCode and the pay on one daemon, held until the
 * wallet's scan (which the front may hand to another daemon); a pay without a final answer is
 * reversed (TIMEOUT, on any daemon) and the sale tried again on the next daemon; an approval is
 * followed by the plan's advice, store-and-forward until some daemon answers 202.
 * @example const sale = await electrumSale({ bases, sims, deadline }, 3, SEED); // { plan: 'confirm-partial', payStatus: 201, expectedKeep: 800, ... }
 */
export async function electrumSale(ctx: FleetContext, i: number, seed: number): Promise<ElectrumSale> {
  const d = dice(seed * 7_919 + i);
  const plan = d.pick<ElectrumPlan>({ confirm: 40, 'confirm-partial': 20, reverse: 20, 'reverse-partial': 20 });
  const amountMinor = d.int(2, 300) * 100 + d.int(0, 50);
  const pos = electrumPos({ url: '' });
  const home = i % ctx.bases.length;
  const till: Till = { bases: ctx.bases, home, deadline: ctx.deadline };
  const sale: ElectrumSale = { i, plan, amountMinor, requestIds: [], abandoned: [], payStatus: 0, answers: [], approvedRequestId: null, approvedMinor: null, expectedKeep: 0 };
  for (let attempt = 0; attempt < 8 && Date.now() < ctx.deadline; attempt += 1) {
    const daemon = (home + attempt) % ctx.bases.length;
    const code = await tillOnce<{ tranId: string; qrCode: string }>(till, daemon, '/qr/v1/qrCodes', pos.auth, pos.qrRequest(amountMinor));
    if (code.status === 0 || code.status === 503) {
      await sleep(100);
      continue;
    }
    if (code.status !== 201) throw new Error(`createQrCode answered ${code.status}: ${JSON.stringify(code.body)}`);
    const request = pos.payRequest(code.body.tranId, amountMinor);
    sale.requestIds.push(request.id);
    let answered = false;
    const sent = Date.now();
    const paying = tillOnce<{ amounts?: { approvedAmount?: { amount?: number } } }>(till, daemon, '/qr/v1/payments', pos.auth, request).finally(() => (answered = true));
    await scan(ctx, code.body.qrCode, () => answered, sale.answers);
    const answer = await paying;
    sale.payStatus = answer.status;
    const error = answer.body as { errorType?: string; errorMessage?: string } | null;
    sale.answers.push(`pay ${answer.status} ${error?.errorType ?? ''} ${answer.status === 201 ? '' : (error?.errorMessage ?? '')} after ${Math.round((Date.now() - sent) / 1000)} s`.replace(/ +/g, ' '));
    if (answer.status === 201) {
      sale.approvedRequestId = request.id;
      const approved = answer.body.amounts?.approvedAmount?.amount ?? amountMinor;
      sale.approvedMinor = approved;
      return advise(ctx, till, pos, sale, approved, d.int(1, Math.max(1, approved - 1)));
    }
    if (!RETRYABLE.has(answer.status)) return sale;
    // No final answer: the POS reverses the pay (Electrum's TIMEOUT), and tries the sale again only if it heard nothing at all.
    sale.abandoned.push(request.id);
    const reversal = await tillCall(till, '/qr/v1/payments/reversals', { headers: pos.auth, json: pos.reversal(request.id, 'TIMEOUT') });
    if (reversal.status !== 202 && reversal.status !== 404) throw new Error(`TIMEOUT reversal answered ${reversal.status}: ${JSON.stringify(reversal.body)}`);
    if (answer.status !== 0) return sale;
  }
  return sale;
}

async function advise(ctx: FleetContext, till: Till, pos: ReturnType<typeof electrumPos>, sale: ElectrumSale, approved: number, part: number): Promise<ElectrumSale> {
  const requestId = sale.approvedRequestId as string;
  const finalAmount = (amount: number) => ({ amounts: { approvedAmount: { amount, currency: '554' } } });
  const partial = approved > 1 && part < approved;
  let path: string;
  let message: unknown;
  if (sale.plan === 'confirm' || (sale.plan === 'confirm-partial' && !partial)) {
    [path, message, sale.expectedKeep] = ['/qr/v1/payments/confirmations', pos.confirmation(requestId), approved];
  } else if (sale.plan === 'confirm-partial') {
    [path, message, sale.expectedKeep] = ['/qr/v1/payments/confirmations', { ...pos.confirmation(requestId), ...finalAmount(part) }, part];
  } else if (sale.plan === 'reverse' || !partial) {
    [path, message, sale.expectedKeep] = ['/qr/v1/payments/reversals', pos.reversal(requestId, 'CANCELLED'), 0];
  } else {
    [path, message, sale.expectedKeep] = ['/qr/v1/payments/reversals', { ...pos.reversal(requestId, 'CANCELLED'), ...finalAmount(part) }, part];
  }
  // Store-and-forward: the same message (same id) until a daemon answers 202.
  for (;;) {
    const res = await tillCall(till, path, { headers: pos.auth, json: message });
    if (res.status === 202) return sale;
    if (!RETRYABLE.has(res.status) || Date.now() > ctx.deadline) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}
