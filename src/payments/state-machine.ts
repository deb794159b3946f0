/**
 * The payment state machine: pure, no I/O. Given a payment's current facts and an event it
 * returns what changes, which deliveries become owed, or why the event is refused. Everything
 * that talks to the world (database, PartPay, terminals) sits around it in the service.
 *
 *   created ──order_created──▶ awaiting_customer ──approved──▶ approved ──refund──▶ partially_refunded ─▶ refunded
 *      │                           │  ├─declined──▶ declined
 *      └─order_failed─▶ failed     │  ├─cancel────▶ cancelled
 *                                  │  └─expire────▶ expired
 *   open or approved ──reversed (a void: Electrum reversal)──▶ reversed;  open ──outcome_unknown──▶ failed
 *
 * States only move forward. A repeated event is a no-op; a late or contradicting one is
 * ignored, except an approval after the terminal was told "not paid" (cancelled, expired,
 * declined, failed): the customer has paid, so the payment is flagged `late_approval` and a
 * refund or upstream cancel becomes owed, per configuration, instead of the money being lost.
 * An approval is recorded once (`approvedMinor`), so a repeated one never flags again.
 *
 * Effects name what is owed upstream, never how: the payment's provider decides what an
 * `upstream_cancel` (PartPay: cancel the order; Electrum: reverse the payment) or a refund is.
 */

export const PAYMENT_STATES = [
  'created',
  'awaiting_customer',
  'approved',
  'declined',
  'cancelled',
  'expired',
  'failed',
  'partially_refunded',
  'refunded',
  'reversed',
] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];

/** States in which the customer's decision is still open. */
export const OPEN_STATES: readonly PaymentState[] = ['created', 'awaiting_customer'];
/** States that tell the terminal "paid". */
export const PAID_STATES: readonly PaymentState[] = ['approved', 'partially_refunded', 'refunded'];

export function isOpen(state: PaymentState): boolean {
  return OPEN_STATES.includes(state);
}
export function isFinal(state: PaymentState): boolean {
  return !isOpen(state);
}

/** A provider's view of an order, normalised from whatever status string it sent. */
export type ProviderOutcome = 'pending' | 'approved' | 'declined' | 'cancelled' | 'expired';

export type LateApprovalPolicy = 'refund' | 'cancel' | 'flag';
export type Attention = 'late_approval' | 'upstream_unresolved';

/** The facts the machine decides on. */
export interface PaymentFacts {
  state: PaymentState;
  amountMinor: number;
  /** What the provider approved, once it did (null before; less than the amount for a partial approval). */
  approvedMinor: number | null;
  refundedMinor: number;
  /** The provider's reference of the order it holds for this payment, if any: something there to cancel or void. */
  upstreamOrderId: string | null;
  attention: Attention | null;
  errorCode: string | null;
}

export type PaymentEvent =
  | { type: 'order_created'; orderId: string; orderNumber: string | null }
  | { type: 'order_failed'; code: string; message: string }
  | {
      type: 'provider_status';
      outcome: ProviderOutcome;
      /** For an approval: the amount approved (default: the whole amount). */
      approvedMinor?: number | undefined;
      orderId?: string | undefined;
      orderNumber?: string | null | undefined;
      source: 'callback' | 'reconcile' | 'cancel_response' | 'partner';
    }
  | { type: 'cancel_requested' }
  | { type: 'expire' }
  | { type: 'refund_settled'; amountMinor: number }
  | { type: 'attention_resolved' }
  /** A void (Electrum reversal): the sale did not complete, whatever the provider decides; the provider is told. */
  | { type: 'reversed' }
  /** The provider gave no final answer in time: failed here, and a void is owed so that no approval stands. */
  | { type: 'outcome_unknown'; message: string };

/** A delivery the outbox now owes, to the payment's own provider. */
export type Effect = { type: 'upstream_cancel' } | { type: 'upstream_refund_full' };

export interface Patch {
  state?: PaymentState;
  upstreamOrderId?: string;
  upstreamOrderNumber?: string | null;
  approvedMinor?: number;
  refundedMinor?: number;
  attention?: Attention | null;
  errorCode?: string;
  errorMessage?: string;
}

export type Decision =
  | { kind: 'changed'; patch: Patch; effects: Effect[]; note: string }
  | { kind: 'unchanged'; note: string; effects: Effect[] }
  | { kind: 'refused'; code: string; message: string };

const unchanged = (note: string, effects: Effect[] = []): Decision => ({ kind: 'unchanged', note, effects });
const refused = (code: string, message: string): Decision => ({ kind: 'refused', code, message });

function lateApproval(p: PaymentFacts, policy: LateApprovalPolicy, orderId: string | null, patch: Patch): Decision {
  // Recorded once: a repeated approval never flags (or refunds) again, even after an operator resolved it.
  if (p.approvedMinor !== null || p.attention === 'late_approval') return unchanged('late approval already recorded');
  // A void is already owed for an outcome we gave up on: it undoes this approval too.
  if (p.state === 'failed' && p.errorCode === 'outcome_unknown') return unchanged('approval after an unknown outcome: the void already owed undoes it');
  const effects: Effect[] = policy === 'refund' ? [{ type: 'upstream_refund_full' }] : policy === 'cancel' && orderId ? [{ type: 'upstream_cancel' }] : [];
  return { kind: 'changed', patch: { ...patch, attention: 'late_approval' }, effects, note: `approval after ${p.state}: flagged, policy ${policy}` };
}

/** The amount an approval event approves: as said, never above the payment's amount. */
function approvedAmount(p: PaymentFacts, e: Extract<PaymentEvent, { type: 'provider_status' }>): number {
  return Math.min(e.approvedMinor ?? p.amountMinor, p.amountMinor);
}

function onProviderStatus(p: PaymentFacts, e: Extract<PaymentEvent, { type: 'provider_status' }>, policy: LateApprovalPolicy): Decision {
  const ids: Patch = {};
  if (e.orderId && !p.upstreamOrderId) ids.upstreamOrderId = e.orderId;
  if (e.orderNumber !== undefined && e.orderId && !p.upstreamOrderId) ids.upstreamOrderNumber = e.orderNumber;
  const orderId = p.upstreamOrderId ?? e.orderId ?? null;
  if (e.outcome === 'pending') {
    return Object.keys(ids).length > 0 && p.state === 'created'
      ? { kind: 'changed', patch: { ...ids, state: 'awaiting_customer' }, effects: [], note: 'order seen pending' }
      : unchanged('still pending');
  }
  if (isOpen(p.state)) {
    const approved: Patch = e.outcome === 'approved' ? { approvedMinor: approvedAmount(p, e) } : {};
    return { kind: 'changed', patch: { ...ids, ...approved, state: e.outcome }, effects: [], note: `${e.outcome} by ${e.source}` };
  }
  if (PAID_STATES.includes(p.state)) {
    return unchanged(e.outcome === 'approved' ? 'duplicate approval' : `ignored ${e.outcome} after ${p.state}: states only move forward`);
  }
  if (p.state === 'reversed') return unchanged(`ignored ${e.outcome} after reversal: the reversal advice voids it`);
  // p.state is declined, cancelled, expired or failed: the terminal was told "not paid".
  if (e.outcome === 'approved') return lateApproval(p, policy, orderId, { ...ids, approvedMinor: approvedAmount(p, e) });
  return unchanged(e.outcome === p.state ? `duplicate ${e.outcome}` : `ignored ${e.outcome} after ${p.state}`);
}

/**
 * Decides what an event does to a payment.
 * @example decide({ state: 'awaiting_customer', ... }, { type: 'provider_status', outcome: 'approved', source: 'callback' }, 'refund')
 */
export function decide(p: PaymentFacts, e: PaymentEvent, policy: LateApprovalPolicy): Decision {
  switch (e.type) {
    case 'order_created':
      if (p.state === 'created') {
        return { kind: 'changed', patch: { state: 'awaiting_customer', upstreamOrderId: e.orderId, upstreamOrderNumber: e.orderNumber }, effects: [], note: 'order created' };
      }
      if (p.upstreamOrderId) return unchanged('order already known');
      // The terminal cancelled (or we gave up) while the create was in flight: record the
      // order and make sure it is cancelled upstream so the customer cannot pay it.
      return {
        kind: 'changed',
        patch: { upstreamOrderId: e.orderId, upstreamOrderNumber: e.orderNumber },
        effects: p.state === 'cancelled' || p.state === 'expired' || p.state === 'failed' || p.state === 'reversed' ? [{ type: 'upstream_cancel' }] : [],
        note: `order created after ${p.state}`,
      };
    case 'order_failed':
      if (p.state !== 'created') return unchanged(`create failure ignored in ${p.state}`);
      return { kind: 'changed', patch: { state: 'failed', errorCode: e.code, errorMessage: e.message }, effects: [], note: 'create failed' };
    case 'provider_status':
      return onProviderStatus(p, e, policy);
    case 'cancel_requested':
      if (p.state === 'cancelled' || p.state === 'reversed') return unchanged(`already ${p.state}`);
      if (!isOpen(p.state)) return refused(PAID_STATES.includes(p.state) ? 'already_approved' : 'already_final', `payment is already ${p.state}${PAID_STATES.includes(p.state) ? '; refund it instead' : ''}`);
      return { kind: 'changed', patch: { state: 'cancelled' }, effects: p.upstreamOrderId ? [{ type: 'upstream_cancel' }] : [], note: 'cancelled' };
    case 'expire':
      if (!isOpen(p.state)) return unchanged(`not expired: already ${p.state}`);
      return { kind: 'changed', patch: { state: 'expired' }, effects: p.upstreamOrderId ? [{ type: 'upstream_cancel' }] : [], note: 'customer did not decide in time' };
    case 'refund_settled': {
      const refunded = p.refundedMinor + e.amountMinor;
      const paid = p.approvedMinor ?? p.amountMinor;
      if (e.amountMinor <= 0 || refunded > paid) return refused('invalid_refund', 'refund exceeds the amount paid');
      const patch: Patch = { refundedMinor: refunded };
      if (PAID_STATES.includes(p.state)) patch.state = refunded === paid ? 'refunded' : 'partially_refunded';
      return { kind: 'changed', patch, effects: [], note: `refunded ${e.amountMinor}` };
    }
    case 'reversed':
      if (p.state === 'reversed') return unchanged('already reversed');
      if (isOpen(p.state) || (p.state === 'approved' && p.refundedMinor === 0)) {
        return { kind: 'changed', patch: { state: 'reversed' }, effects: p.upstreamOrderId ? [{ type: 'upstream_cancel' }] : [], note: `reversed from ${p.state}` };
      }
      return unchanged(`nothing to reverse: payment is ${p.state}`);
    case 'outcome_unknown':
      if (!isOpen(p.state)) return unchanged(`outcome already known: ${p.state}`);
      return {
        kind: 'changed',
        patch: { state: 'failed', errorCode: 'outcome_unknown', errorMessage: e.message },
        effects: p.upstreamOrderId ? [{ type: 'upstream_cancel' }] : [],
        note: 'no final answer in time',
      };
    case 'attention_resolved':
      return p.attention ? { kind: 'changed', patch: { attention: null }, effects: [], note: 'attention resolved' } : unchanged('nothing to resolve');
  }
}

/**
 * The one refundable-amount rule: what the provider approved, less refunds settled and in
 * flight; only for a paid payment, or one approved after the terminal was told "not paid"
 * (flagged `late_approval`). Every refund, whoever asks and whatever the provider, is checked
 * against it.
 * @example refundableMinor({ state: 'approved', approvedMinor: 1000, refundedMinor: 300, ... }, 200) // 500
 */
export function refundableMinor(p: PaymentFacts, pendingRefundsMinor: number): number {
  if (p.approvedMinor === null) return 0;
  if (!PAID_STATES.includes(p.state) && p.attention !== 'late_approval') return 0;
  return Math.max(0, p.approvedMinor - p.refundedMinor - pendingRefundsMinor);
}

/**
 * What the customer is charged now: the approved amount less what was refunded, while the
 * payment is paid (or a late approval not yet refunded); nothing otherwise.
 * @example settledMinor({ state: 'partially_refunded', approvedMinor: 1000, refundedMinor: 400, ... }) // 600
 */
export function settledMinor(p: PaymentFacts): number {
  if (p.approvedMinor === null) return 0;
  if (!PAID_STATES.includes(p.state) && p.attention !== 'late_approval' && p.refundedMinor === 0) return 0;
  return p.approvedMinor - p.refundedMinor;
}
