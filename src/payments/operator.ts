import type { OutboxRepository } from '../outbox/repository.js';
import type { PartPayClient } from '../partpay/client.js';
import type { Registry } from '../registry/registry.js';
import type { Merchant } from '../shared/config/load.js';
import type { Db } from '../shared/db/open.js';
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from '../shared/errors.js';
import type { Applier } from './apply.js';
import type { PaymentRepository } from './repository.js';
import { isOpen, normaliseProviderStatus, PAID_STATES } from './state-machine.js';
import type { Payment, Refund } from './types.js';
import type { UpstreamSync } from './upstream-sync.js';

export const OPERATOR_ACTIONS = ['cancel', 'refund', 'mark-reviewed'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

export interface ResolveInput {
  action: OperatorAction;
  /** Who decided (a person's name or login); journaled as `operator:<by>`. */
  by: string;
  /** Why, in words a later reader understands; journaled. */
  reason: string;
  /** Leave the PartPay call to the daemon's outbox instead of making it now. */
  deferUpstream?: boolean;
}

/** What a resolution did. `*_owed`: PartPay could not be reached (or was not asked); the daemon's outbox delivers it. */
export type ResolveResult = 'refunded' | 'refund_owed' | 'cancelled' | 'cancel_owed' | 'reviewed';

export interface ResolveOutcome {
  action: OperatorAction;
  result: ResolveResult;
  payment: Payment;
  refund: Refund | null;
}

export interface OperatorDeps {
  db: Db;
  payments: PaymentRepository;
  outbox: OutboxRepository;
  applier: Applier;
  sync: Pick<UpstreamSync, 'settleRefund' | 'failRefund' | 'queueRefund' | 'reconcile' | 'oweRefund'>;
  registry: Pick<Registry, 'merchant'>;
  partpay: Pick<PartPayClient, 'cancelOrder' | 'refundOrder'>;
  clock: () => number;
  newId: () => string;
}

const PRINTABLE = /^[^\p{Cc}]+$/u;

function assertInput(input: ResolveInput): void {
  if (!(OPERATOR_ACTIONS as readonly string[]).includes(input.action)) throw new ValidationError(`action must be one of ${OPERATOR_ACTIONS.join(', ')}`);
  if (!input.by.trim() || input.by.length > 64 || !PRINTABLE.test(input.by)) throw new ValidationError('by: give who decides this (1-64 printable characters)');
  if (!input.reason.trim() || input.reason.length > 500 || !PRINTABLE.test(input.reason)) throw new ValidationError('reason: say why (1-500 printable characters)');
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Operator resolutions of payments in doubt (flagged for attention, approved after the terminal
 * was told "not paid", or still open): refund what the customer paid, cancel the order at
 * PartPay, or mark a flag reviewed. Each is journaled as `operator_resolution` with who and why
 * before anything is done; state changes go through the applier with actor `operator:<by>`.
 * Free of CLI concerns so the web console can reuse it; refusals are {@link ConflictError}s.
 * @example
 * const ops = createOperatorActions({ db, payments, outbox, applier, sync, registry, partpay, clock: Date.now, newId: randomUUID });
 * await ops.resolve(paymentId, { action: 'refund', by: 'alice', reason: 'customer charged after cancel' });
 */
export function createOperatorActions(deps: OperatorDeps) {
  const { db, payments, outbox, applier, sync, partpay } = deps;

  const load = (id: string): Payment => {
    const p = payments.get(id);
    if (!p) throw new NotFoundError(`no payment ${id}`);
    return p;
  };
  const merchantOf = (p: Payment): Merchant => {
    const m = deps.registry.merchant(p.merchantId);
    if (!m) throw new ConflictError('merchant_unknown', `merchant ${p.merchantId} of payment ${p.id} is no longer configured`);
    return m;
  };
  const journalResolution = (p: Payment, input: ResolveInput, detail: Record<string, unknown> = {}): void => {
    payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'operator_resolution', actor: `operator:${input.by}`, detail: { action: input.action, by: input.by, reason: input.reason, state: p.state, attention: p.attention, ...detail } });
  };
  const done = (action: OperatorAction, result: ResolveResult, id: string, refund: Refund | null = null): ResolveOutcome => ({ action, result, payment: load(id), refund });

  /** How much the customer paid that is not refunded or being refunded; refuses when refunding does not fit. */
  function refundable(p: Payment): number {
    if (p.state === 'refunded' || p.refundedMinor >= p.amountMinor) throw new ConflictError('nothing_to_resolve', `payment ${p.id} is already fully refunded`);
    if (!PAID_STATES.includes(p.state) && p.attention !== 'late_approval') {
      throw new ConflictError('not_refundable', `payment ${p.id} is ${p.state} and PartPay has not approved it: there is nothing to refund${isOpen(p.state) ? ' (cancel it instead)' : ''}`);
    }
    if (!p.upstreamOrderId) throw new ConflictError('not_refundable', `payment ${p.id} has no PartPay order to refund`);
    const pending = payments.pendingRefundsMinor(p.id);
    const left = p.amountMinor - p.refundedMinor - pending;
    if (left <= 0) {
      throw new ConflictError(pending > 0 ? 'refund_pending' : 'nothing_to_resolve', pending > 0 ? `a refund of ${pending} minor units is already pending for payment ${p.id}; the daemon's outbox delivers it` : `nothing is left to refund on payment ${p.id}`);
    }
    return left;
  }

  async function refund(id: string, input: ResolveInput): Promise<ResolveOutcome> {
    const actor = `operator:${input.by}`;
    const refundId = db.transaction((): string => {
      const p = load(id);
      const amountMinor = refundable(p);
      const newId = deps.newId();
      const at = deps.clock();
      payments.insertRefund({ id: newId, paymentId: id, amountMinor, reason: input.reason, requestedBy: actor, at });
      journalResolution(p, input, { refundId: newId, amountMinor });
      payments.journal({ paymentId: id, at, kind: 'refund_requested', actor, detail: { refundId: newId, amountMinor, reason: input.reason } });
      // Owed before PartPay is called, so a crash during the call cannot strand it.
      sync.oweRefund({ id: newId, paymentId: id }, !input.deferUpstream);
      return newId;
    }).immediate();
    if (input.deferUpstream) return done('refund', 'refund_owed', id, payments.getRefund(refundId));
    const pending = payments.getRefund(refundId) as Refund;
    const p = load(id);
    try {
      const answer = await partpay.refundOrder(merchantOf(p), p.upstreamOrderId as string, { amountMinor: pending.amountMinor, currency: p.currency, reference: pending.id });
      sync.settleRefund(pending, answer.refundId);
    } catch (error) {
      if (error instanceof UpstreamError && error.retryable) {
        sync.queueRefund(pending, error);
        return done('refund', 'refund_owed', id, payments.getRefund(refundId));
      }
      sync.failRefund(pending, error);
      throw error;
    }
    const after = load(id);
    // settleRefund clears a late approval once fully refunded; clear any other flag the operator settled.
    if (after.attention && after.refundedMinor === after.amountMinor) {
      applier.apply(id, { type: 'attention_resolved' }, { actor, kind: 'resolution', detail: { action: 'refund', refundId } });
    }
    return done('refund', 'refunded', id, payments.getRefund(refundId));
  }

  /** An order the customer has not decided: cancel at PartPay first, as a terminal would. */
  async function cancelOpen(p: Payment, input: ResolveInput): Promise<ResolveOutcome> {
    const actor = `operator:${input.by}`;
    const orderId = p.upstreamOrderId;
    if (input.deferUpstream || !orderId) {
      applier.apply(p.id, { type: 'cancel_requested' }, { actor, kind: 'request', detail: { operation: 'cancel', ...(orderId ? { queued: true } : {}) }, resolvedBy: 'operator' });
      return done('cancel', orderId ? 'cancel_owed' : 'cancelled', p.id);
    }
    try {
      const status = await partpay.cancelOrder(merchantOf(p), orderId, `cancel-${p.id}`);
      const outcome = normaliseProviderStatus(status.status);
      applier.apply(p.id, { type: 'provider_status', outcome: outcome === null || outcome === 'pending' ? 'cancelled' : outcome, source: 'cancel_response' }, { actor, kind: 'upstream_response', detail: { call: 'cancelOrder', status: status.status }, resolvedBy: 'operator' });
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.retryable) {
        applier.apply(p.id, { type: 'cancel_requested' }, { actor, kind: 'request', detail: { operation: 'cancel', upstream: errorMessage(error), queued: true }, resolvedBy: 'operator' });
        return done('cancel', 'cancel_owed', p.id);
      }
      // PartPay refused: the order most likely reached a final state first. Learn which.
      await sync.reconcile(p, 'operator cancel refused').catch(() => p);
    }
    const after = load(p.id);
    if (after.state === 'cancelled') return done('cancel', 'cancelled', p.id);
    throw new ConflictError(PAID_STATES.includes(after.state) ? 'already_approved' : 'already_final', `payment ${p.id} was ${after.state} at PartPay before it could be cancelled${PAID_STATES.includes(after.state) ? '; refund it instead' : ''}`);
  }

  /** An approval after the terminal was told "not paid": ask PartPay to cancel (void) the approved order. */
  async function cancelLateApproval(p: Payment, input: ResolveInput): Promise<ResolveOutcome> {
    const actor = `operator:${input.by}`;
    const orderId = p.upstreamOrderId as string;
    if (input.deferUpstream) {
      outbox.enqueue('partpay.cancel', p.id, { orderId }, deps.clock());
      return done('cancel', 'cancel_owed', p.id);
    }
    let status;
    try {
      status = await partpay.cancelOrder(merchantOf(p), orderId, `cancel-${p.id}`);
    } catch (error) {
      payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_error', actor, detail: { call: 'cancelOrder', message: errorMessage(error), queued: !(error instanceof UpstreamError) || error.retryable } });
      if (!(error instanceof UpstreamError) || error.retryable) {
        outbox.enqueue('partpay.cancel', p.id, { orderId }, deps.clock());
        return done('cancel', 'cancel_owed', p.id);
      }
      throw new ConflictError('cancel_refused', `PartPay refused to cancel order ${orderId} (${error.message}): the customer's payment stands; resolve with --action refund`);
    }
    payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_response', actor, detail: { call: 'cancelOrder', status: status.status } });
    if (normaliseProviderStatus(status.status) !== 'cancelled') {
      throw new ConflictError('cancel_refused', `PartPay answered "${status.status}" to the cancel of order ${orderId}: it is not cancelled; resolve with --action refund`);
    }
    applier.apply(p.id, { type: 'attention_resolved' }, { actor, kind: 'resolution', detail: { action: 'cancelled upstream' } });
    return done('cancel', 'cancelled', p.id);
  }

  async function cancel(id: string, input: ResolveInput): Promise<ResolveOutcome> {
    const p = db.transaction((): Payment => {
      const current = load(id);
      if (PAID_STATES.includes(current.state)) throw new ConflictError('already_approved', `payment ${id} is ${current.state}: refund it instead of cancelling`);
      if (!isOpen(current.state) && current.attention !== 'late_approval') {
        throw new ConflictError('nothing_to_resolve', `payment ${id} is already ${current.state} and not flagged for attention: there is nothing to cancel`);
      }
      if (!isOpen(current.state) && payments.pendingRefundsMinor(id) > 0) {
        throw new ConflictError('refund_pending', `a refund is already pending for payment ${id}; the daemon's outbox delivers it`);
      }
      journalResolution(current, input);
      return current;
    }).immediate();
    return isOpen(p.state) ? cancelOpen(p, input) : cancelLateApproval(p, input);
  }

  function markReviewed(id: string, input: ResolveInput): ResolveOutcome {
    db.transaction(() => {
      const p = load(id);
      if (!p.attention) throw new ConflictError('nothing_to_resolve', `payment ${id} is not flagged for attention: nothing to mark reviewed`);
      journalResolution(p, input);
    }).immediate();
    applier.apply(id, { type: 'attention_resolved' }, { actor: `operator:${input.by}`, kind: 'resolution', detail: { action: 'mark-reviewed', reason: input.reason } });
    return done('mark-reviewed', 'reviewed', id);
  }

  return {
    /**
     * Settles a payment in doubt as the operator decided.
     * @throws ValidationError for a bad input, NotFoundError, ConflictError when the action does not fit the payment, UpstreamError when PartPay refuses a refund.
     */
    async resolve(paymentId: string, input: ResolveInput): Promise<ResolveOutcome> {
      assertInput(input);
      if (input.action === 'refund') return refund(paymentId, input);
      if (input.action === 'cancel') return cancel(paymentId, input);
      return markReviewed(paymentId, input);
    },
  };
}

export type OperatorActions = ReturnType<typeof createOperatorActions>;
