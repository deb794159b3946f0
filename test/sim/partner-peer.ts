import type { Peer, PeerAnswer, PeerRequest } from './transport.js';
import type { World } from './world.js';

/** What an Electrum partner does by chance, besides the link's faults. */
export interface PartnerPeerFaults {
  /** Of a pay: declined; approved for half (a partial approval); never answered (held until the caller gives up); answered 500 (approved or not, a coin toss). */
  decline: number;
  /** Longest time a pay takes to process (the customer confirming in the app). */
  processingMs: number;
  /**
   * A reversal that arrives while the pay is still processing is accepted, and then, when the
   * customer approves, overwritten by the approval (the partner keeps money the POS reversed);
   * otherwise (a careful partner) the reversal voids the approval to come.
   */
  racy: boolean;
  partial: number;
  noAnswer: number;
  error500: number;
}

interface PartnerPayment {
  requestId: string;
  tranId: string;
  requestedMinor: number;
  state: 'processing' | 'approved' | 'declined' | 'confirmed' | 'reversed';
  approvedMinor: number | null;
  finalMinor: number | null;
  /** Advice ids received for this payment, with the content each carried the first time. */
  advices: Map<string, string>;
}

/**
 * An Electrum partner as a ledger: it decides each pay when it arrives (approve, approve for
 * less, decline, never answer, 500), keeps confirmations and reversals by advice id (a repeat
 * gets the same answer), applies their final amounts, and answers 404 to a reversal of a
 * payment it never saw. It records what it can tell is wrong: an advice id reused for other
 * content, or a second different advice for one payment.
 */
export function createPartnerPeer(world: World, opts: { id: string; name: string; faults: () => PartnerPeerFaults }) {
  const payments = new Map<string, PartnerPayment>();
  const answers = new Map<string, PeerAnswer>();
  const violations: string[] = [];
  const rng = world.rng;
  const json = (status: number, body: unknown): PeerAnswer => ({ status, body });
  const error = (status: number, errorType: string, errorMessage: string, requestId?: string): PeerAnswer =>
    json(status, { id: rng.uuid(`partner.${opts.id}.err`).replace(/-/g, '').slice(0, 20), errorType, errorMessage, ...(requestId ? { originalId: requestId } : {}) });

  function pay(req: PeerRequest): PeerAnswer {
    const body = JSON.parse(req.body) as { id: string; tranId: string; amounts: { requestAmount: { amount: number; currency: string } } } & Record<string, unknown>;
    if (payments.has(body.id)) return error(400, 'DUPLICATE_RECORD', 'Duplicate payment request id', body.id);
    const requested = body.amounts.requestAmount;
    const faults = opts.faults();
    const roll = rng.next(`partner.${opts.id}.pay`);
    const processing = rng.int(`partner.${opts.id}.processing`, 0, faults.processingMs);
    const p: PartnerPayment = { requestId: body.id, tranId: body.tranId, requestedMinor: requested.amount, state: 'processing', approvedMinor: null, finalMinor: null, advices: new Map() };
    payments.set(p.requestId, p);
    const declined = roll < faults.decline;
    const approvedMinor = roll < faults.decline + faults.partial ? Math.max(1, Math.floor(requested.amount / 2)) : requested.amount;
    const noAnswer = rng.chance(`partner.${opts.id}.noAnswer`, faults.noAnswer);
    const error500 = rng.chance(`partner.${opts.id}.error500`, faults.error500);
    const movedBefore500 = rng.chance(`partner.${opts.id}.error500.moved`, 0.5);
    // The customer decides in the app while the pay is processing.
    world.after(processing, () => {
      const reversedMeanwhile = p.state === 'reversed';
      if (reversedMeanwhile && !faults.racy) return void world.trace(`partner ${opts.id}: ${p.requestId.slice(0, 8)} stays reversed (reversed while processing)`);
      if (declined || (error500 && !movedBefore500)) {
        p.state = 'declined';
        return void world.trace(`partner ${opts.id}: declined ${p.requestId.slice(0, 8)}`);
      }
      p.state = 'approved';
      p.approvedMinor = approvedMinor;
      p.finalMinor = null;
      world.trace(`partner ${opts.id}: approved ${approvedMinor} of ${requested.amount} for ${p.requestId.slice(0, 8)}${reversedMeanwhile ? ' (over a reversal accepted while processing)' : ''}`);
    });
    if (noAnswer) return { status: 0, body: null };
    if (error500) return { ...error(500, 'GENERAL_ERROR', 'Internal error'), afterMs: processing };
    if (declined) return { ...error(400, 'DECLINED_BY_PARTNER', 'Declined by the customer', p.requestId), afterMs: processing };
    const approved = { amount: approvedMinor, currency: requested.currency };
    return { ...json(201, { ...body, partner: { id: opts.id, name: opts.name }, amounts: { ...body.amounts, approvedAmount: approved }, time: new Date(world.now()).toISOString() }), afterMs: processing };
  }

  function advice(kind: 'confirmation' | 'reversal', req: PeerRequest): PeerAnswer {
    const body = JSON.parse(req.body) as { id: string; requestId: string; amounts?: { approvedAmount?: { amount: number } } };
    const remembered = answers.get(body.id);
    const p = payments.get(body.requestId);
    const content = JSON.stringify({ kind, requestId: body.requestId, final: body.amounts?.approvedAmount?.amount ?? null });
    if (remembered) {
      const first = p?.advices.get(body.id);
      if (first !== undefined && first !== content) violations.push(`advice ${body.id} repeated with other content (${first} then ${content})`);
      return remembered;
    }
    const answer = (a: PeerAnswer): PeerAnswer => {
      answers.set(body.id, a);
      return a;
    };
    if (!p) return answer(kind === 'reversal' ? error(404, 'UNABLE_TO_LOCATE_RECORD', 'No payment with this requestId', body.requestId) : error(404, 'UNABLE_TO_LOCATE_RECORD', 'No payment', body.requestId));
    if (p.advices.size > 0 && !p.advices.has(body.id)) violations.push(`payment ${p.requestId} got a second advice (${kind} ${body.id})`);
    p.advices.set(body.id, content);
    const final = body.amounts?.approvedAmount?.amount;
    if (kind === 'confirmation') {
      if (p.state === 'processing') return answer(error(400, 'GENERAL_ERROR', 'Payment not approved yet', p.requestId));
      if (p.state === 'reversed') return answer(error(400, 'GENERAL_ERROR', 'Payment already reversed', p.requestId));
      if (p.state === 'declined') return answer(error(400, 'GENERAL_ERROR', 'Payment was declined', p.requestId));
      if (final !== undefined && final > (p.approvedMinor ?? 0)) return answer(error(400, 'INVALID_AMOUNT', 'Final amount exceeds the approval', p.requestId));
      p.state = 'confirmed';
      p.finalMinor = final ?? null;
    } else {
      if (p.state === 'confirmed') return answer(error(400, 'ACCOUNT_ALREADY_SETTLED', 'Payment already confirmed', p.requestId));
      if (final !== undefined && p.approvedMinor !== null && final > p.approvedMinor) return answer(error(400, 'INVALID_AMOUNT', 'Final amount exceeds the approval', p.requestId));
      if (p.state !== 'declined') {
        p.state = 'reversed';
        p.finalMinor = final ?? null;
      }
    }
    world.trace(`partner ${opts.id}: ${kind} ${body.id.slice(0, 8)} of ${p.requestId.slice(0, 8)} final ${final ?? 'all'}`);
    return answer(json(202, body));
  }

  const peer: Peer = {
    handle(req) {
      if (req.method !== 'POST') return error(404, 'FUNCTION_NOT_SUPPORTED', 'No such operation');
      if (req.path === '/qr/v1/payments') return pay(req);
      if (req.path === '/qr/v1/payments/confirmations') return advice('confirmation', req);
      if (req.path === '/qr/v1/payments/reversals') return advice('reversal', req);
      return error(404, 'FUNCTION_NOT_SUPPORTED', 'No such operation');
    },
  };

  return {
    id: opts.id,
    peer,
    violations,
    payment: (requestId: string) => payments.get(requestId),
    payments: () => [...payments.values()],
    /** What the partner holds as taken from the customer. */
    settled(p: PartnerPayment): number {
      if (p.state === 'approved' || p.state === 'confirmed') return p.finalMinor ?? p.approvedMinor ?? 0;
      if (p.state === 'reversed') return p.finalMinor ?? 0;
      return 0;
    },
  };
}

export type PartnerPeer = ReturnType<typeof createPartnerPeer>;
