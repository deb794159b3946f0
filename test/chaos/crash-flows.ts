import { electrumPos } from '../support/electrum-pos.js';
import { TERMINAL_KEY } from '../support/harness.js';
import type { Sims } from './sims-client.js';
import { longPollFinal, sleep, terminalCall, until, type Answer } from './support.js';

/**
 * The scripted flows of the crash-point suite. Each plays the terminal or POS, the customer and
 * the wallet as real ones would through a crash of the daemon at any moment: a request that got
 * no answer is sent again as it was (same Idempotency-Key, same advice id), a pay that got no
 * answer is reversed with reason TIMEOUT (the Electrum spec) and the sale tried again, and a
 * createQrCode that got no answer is made again with a new id (a request id is never reused).
 */

const AUTH = { Authorization: `Bearer ${TERMINAL_KEY}` };

export interface FlowContext {
  /** The daemon's base URL (the same port across restarts). */
  base: string;
  sims: Sims;
  /** Unique per run: idempotency keys and references. */
  tag: string;
  deadline: number;
}

export interface Flow {
  name: string;
  run(ctx: FlowContext): Promise<void>;
}

interface PaymentJson {
  id: string;
  state: string;
  version: number;
  attention: string | null;
  refundedMinor: number;
  partpay: { orderId: string } | null;
}

// ---- the terminal on the native API (PartPay) ----

async function createPayment(ctx: FlowContext, amountMinor: number): Promise<PaymentJson & { orderId: string }> {
  const res = await terminalCall<PaymentJson>(`${ctx.base}/v1/payments`, { headers: { ...AUTH, 'Idempotency-Key': `${ctx.tag}-create` }, json: { amountMinor, currency: 'NZD', merchantReference: ctx.tag } }, ctx.deadline);
  const orderId = res.body.partpay?.orderId;
  if ((res.status !== 201 && res.status !== 200) || !orderId) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { ...res.body, orderId };
}

async function finalState(ctx: FlowContext, p: PaymentJson): Promise<string> {
  const final = await longPollFinal(ctx.base, AUTH, p.id, p.version, ctx.deadline);
  if (final.state === null) throw new Error(`payment ${p.id} never became final`);
  return final.state;
}

/** Polls the payment as the terminal sees it until `done` holds. */
async function waitFor(ctx: FlowContext, id: string, what: string, done: (p: PaymentJson) => boolean): Promise<void> {
  const held = await until(async () => done((await terminalCall<PaymentJson>(`${ctx.base}/v1/payments/${id}`, { headers: AUTH }, ctx.deadline)).body), () => sleep(50), Math.max(0, ctx.deadline - Date.now()));
  if (!held) throw new Error(`payment ${id}: ${what} never happened`);
}

const post = (ctx: FlowContext, path: string, key: string | null, json: unknown): Promise<Answer<Record<string, unknown>>> =>
  terminalCall(`${ctx.base}${path}`, { headers: { ...AUTH, ...(key === null ? {} : { 'Idempotency-Key': key }) }, json }, ctx.deadline);

function expectStatus(what: string, res: Answer<unknown>, ...allowed: number[]): void {
  if (!allowed.includes(res.status)) throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

// ---- the POS and the wallet on Electrum ----

type Pos = ReturnType<typeof electrumPos>;

/** One attempt, no retry (a pay or a createQrCode); status 0 when no answer came. */
async function once(ctx: FlowContext, pos: Pos, path: string, body: unknown): Promise<Answer<Record<string, unknown>>> {
  try {
    const res = await fetch(`${ctx.base}/qr/v1${path}`, { method: 'POST', headers: { ...pos.auth, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

/** An advice, store-and-forward: the same message until it is answered 202 (404 on a reversal: nothing to reverse). */
async function advice(ctx: FlowContext, pos: Pos, path: string, message: unknown): Promise<void> {
  const res = await terminalCall(`${ctx.base}/qr/v1${path}`, { headers: pos.auth, json: message }, ctx.deadline);
  expectStatus(path, res, 202, ...(path.endsWith('reversals') ? [404] : []));
}

async function qrCode(ctx: FlowContext, pos: Pos, amountMinor: number): Promise<{ tranId: string; qrCode: string }> {
  while (Date.now() < ctx.deadline) {
    const res = await once(ctx, pos, '/qrCodes', pos.qrRequest(amountMinor));
    if (res.status === 201) return res.body as { tranId: string; qrCode: string };
    if (res.status !== 0) throw new Error(`createQrCode answered ${res.status}: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
  throw new Error('createQrCode never answered');
}

/** The wallet scans once the pay waits for it (a scan before that is "no payment waiting"). */
async function scan(ctx: FlowContext, code: string, answered: () => boolean): Promise<void> {
  await sleep(50);
  while (!answered() && Date.now() < ctx.deadline) {
    const res = await ctx.sims.scan(code).catch(() => null);
    if (res?.status === 202) return;
    if (res && (res.status !== 400 || (res.body as { errorType?: string } | null)?.errorType !== 'UNABLE_TO_LOCATE_RECORD')) return;
    await sleep(50);
  }
}

/**
 * One sale over Electrum: createQrCode, pay held open until the wallet's scan, then `approved`
 * with the pay's request id when the partner approved. No final answer: the TIMEOUT reversal;
 * no answer at all (the daemon died under the pay): that, and the cashier tries again.
 */
async function electrumSale(ctx: FlowContext, amountMinor: number, approved: (pos: Pos, requestId: string) => Promise<void> = async () => undefined): Promise<void> {
  const pos = electrumPos({ url: ctx.base });
  for (let attempt = 1; attempt <= 4; attempt += 1) {
    const code = await qrCode(ctx, pos, amountMinor);
    const request = pos.payRequest(code.tranId, amountMinor);
    let answered = false;
    const paying = once(ctx, pos, '/payments', request).finally(() => (answered = true));
    await scan(ctx, code.qrCode, () => answered);
    const answer = await paying;
    if (answer.status === 201) return approved(pos, request.id);
    if (answer.status !== 0 && answer.status !== 500 && answer.status !== 504) return;
    // A 504 owes the partner our own TIMEOUT reversal: the POS's comes after it, the same order in every run.
    if (answer.status === 504) await until(async () => (await ctx.sims.partnerPayment(request.id)).state === 'reversed', () => sleep(50), 10_000);
    await advice(ctx, pos, '/payments/reversals', pos.reversal(request.id, 'TIMEOUT'));
    if (answer.status !== 0) return;
  }
  throw new Error('four attempts at the sale got no answer');
}

const final = (amount: number) => ({ amounts: { approvedAmount: { amount, currency: '554' } } });

export const FLOWS: Flow[] = [
  {
    name: 'partpay-approve',
    async run(ctx) {
      const p = await createPayment(ctx, 1200);
      await ctx.sims.approve(p.orderId);
      await finalState(ctx, p);
    },
  },
  {
    name: 'partpay-decline',
    async run(ctx) {
      const p = await createPayment(ctx, 1300);
      await ctx.sims.decline(p.orderId);
      await finalState(ctx, p);
    },
  },
  {
    // The customer approves at PartPay; its callback is slow, so the terminal's cancel meets an approval we have not heard of.
    name: 'partpay-cancel-race',
    async run(ctx) {
      const p = await createPayment(ctx, 1400);
      await ctx.sims.setFaults({ callbacks: { delay: 1, delayMs: { min: 400, max: 400 } } });
      await ctx.sims.approve(p.orderId);
      await ctx.sims.setFaults({});
      const cancel = await post(ctx, `/v1/payments/${p.id}/cancel`, null, {});
      expectStatus('cancel of an approved payment', cancel, 409);
      await finalState(ctx, p);
    },
  },
  {
    name: 'partpay-refund',
    async run(ctx) {
      const p = await createPayment(ctx, 1500);
      await ctx.sims.approve(p.orderId);
      await finalState(ctx, p);
      expectStatus('partial refund', await post(ctx, `/v1/payments/${p.id}/refunds`, `${ctx.tag}-refund-1`, { amountMinor: 500 }), 201, 202);
      expectStatus('refund of the rest', await post(ctx, `/v1/payments/${p.id}/refunds`, `${ctx.tag}-refund-2`, {}), 201, 202);
      await waitFor(ctx, p.id, 'the refunds settling', (x) => x.refundedMinor === 1500);
    },
  },
  {
    // The terminal's cancel cannot reach PartPay (cancelled here, the cancel owed); the customer approves before it is delivered.
    name: 'partpay-late-approval',
    async run(ctx) {
      const p = await createPayment(ctx, 1600);
      await ctx.sims.failCancels(true);
      expectStatus('cancel that cannot reach PartPay', await post(ctx, `/v1/payments/${p.id}/cancel`, null, {}), 200);
      await ctx.sims.approve(p.orderId);
      await waitFor(ctx, p.id, 'the late approval refunded', (x) => x.refundedMinor === 1600 && x.attention === null);
      await ctx.sims.failCancels(false);
    },
  },
  {
    name: 'electrum-full',
    run: (ctx) => electrumSale(ctx, 1700, (pos, requestId) => advice(ctx, pos, '/payments/confirmations', pos.confirmation(requestId))),
  },
  {
    // Cents .52: the partner never answers; we answer 504 and owe it the TIMEOUT reversal.
    name: 'electrum-timeout',
    run: (ctx) => electrumSale(ctx, 1852),
  },
  {
    name: 'electrum-partial-confirmation',
    run: (ctx) => electrumSale(ctx, 2000, (pos, requestId) => advice(ctx, pos, '/payments/confirmations', { ...pos.confirmation(requestId), ...final(1200) })),
  },
  {
    name: 'electrum-partial-reversal',
    run: (ctx) => electrumSale(ctx, 2100, (pos, requestId) => advice(ctx, pos, '/payments/reversals', { ...pos.reversal(requestId, 'CANCELLED'), ...final(700) })),
  },
];
