import type { Logger } from '../shared/logger.js';
import { immediateCommit, type GroupCommit } from '../shared/db/group-commit.js';
import type { Db } from '../shared/db/open.js';
import type { OutboxRepository } from '../outbox/repository.js';
import type { PaymentEvents } from './events.js';
import type { PaymentRepository } from './repository.js';
import { decide, type Decision, type Effect, type LateApprovalPolicy, type PaymentEvent } from './state-machine.js';
import type { Payment } from './types.js';

export interface ApplyContext {
  /** Who caused it: `terminal:TERM0001`, `partpay`, `system:expire`, `operator:alice`. */
  actor: string;
  /** Journal kind of the triggering record: `request`, `callback`, `reconcile`, ... */
  kind: string;
  detail?: Record<string, unknown>;
  /** The raw body of a callback, kept verbatim. */
  rawBody?: string;
  /** Recorded on the payment when this event makes it final: callback, reconcile, terminal, expiry. */
  resolvedBy?: string;
  /** Extra writes that must commit with the decision (e.g. storing the QR). */
  alsoInTransaction?: (payment: Payment) => void;
}

export interface ApplyResult {
  before: Payment;
  after: Payment;
  decision: Decision;
}

export interface ApplyDeps {
  db: Db;
  /** Group commit: the decision joins the current batch; listeners hear of it after its commit. Default: each decision commits alone. */
  group?: Pick<GroupCommit, 'run' | 'afterCommit'>;
  payments: PaymentRepository;
  outbox: OutboxRepository;
  events: PaymentEvents;
  logger: Logger;
  clock: () => number;
  newId: () => string;
  lateApproval: LateApprovalPolicy;
  /** Called after commit when deliveries became owed. */
  onOutbox: () => void;
  /** Called after commit when a payment first reaches a final state (metrics). */
  onFinal?: (payment: Payment, by: string) => void;
}

/**
 * Runs one event through the state machine inside one transaction (a savepoint of the
 * current group-commit batch): the journal entry, the state change, and the outbox rows it
 * causes commit together or not at all. Listeners (waiting terminals, the outbox deliverer,
 * metrics) are told only after the commit; the caller's HTTP answer waits for it too.
 */
export function createApplier(deps: ApplyDeps) {
  const { db, payments, outbox } = deps;
  const group = deps.group ?? immediateCommit(db);

  const owe = (p: Payment, effect: Effect, at: number, ctx: ApplyContext): void => {
    if (effect.type === 'upstream_cancel') {
      outbox.enqueue('partpay.cancel', p.id, { orderId: effect.orderId }, at);
      return;
    }
    const amount = p.amountMinor - p.refundedMinor - payments.pendingRefundsMinor(p.id);
    if (amount <= 0) return;
    const refundId = deps.newId();
    // A full refund is owed either for a late approval or for a void (an Electrum reversal).
    const lateApproval = p.attention === 'late_approval';
    const requestedBy = lateApproval ? 'system:late-approval' : ctx.actor;
    payments.insertRefund({ id: refundId, paymentId: p.id, amountMinor: amount, reason: lateApproval ? 'late approval' : 'void', requestedBy, at });
    payments.journal({ paymentId: p.id, at, kind: 'refund_requested', actor: requestedBy, detail: { refundId, amountMinor: amount } });
    outbox.enqueue('partpay.refund', p.id, { refundId }, at);
  };

  const tx = db.transaction((paymentId: string, event: PaymentEvent, ctx: ApplyContext): ApplyResult => {
    const at = deps.clock();
    const before = payments.get(paymentId);
    if (!before) throw new Error(`payment ${paymentId} vanished`);
    const decision = decide(before, event, deps.lateApproval);
    payments.journal({
      paymentId,
      at,
      kind: ctx.kind,
      actor: ctx.actor,
      detail: { event: event.type, ...('outcome' in event ? { outcome: event.outcome } : {}), ...ctx.detail, decision: decision.kind, note: decision.kind === 'refused' ? decision.message : decision.note },
      rawBody: ctx.rawBody ?? null,
    });
    let after = before;
    if (decision.kind === 'changed') {
      after = payments.applyPatch(before, decision.patch, at, ctx.resolvedBy ?? null);
      if (after.state !== before.state || after.attention !== before.attention) {
        payments.journal({
          paymentId,
          at,
          kind: 'state_changed',
          actor: ctx.actor,
          fromState: before.state,
          toState: after.state,
          version: after.version,
          detail: after.attention !== before.attention ? { attention: after.attention } : null,
        });
      }
    }
    if (decision.kind !== 'refused') for (const effect of decision.effects) owe(after, effect, at, ctx);
    ctx.alsoInTransaction?.(after);
    return { before, after, decision };
  });

  /** Tells listeners and the log about a committed decision. */
  const told = (result: ApplyResult, event: PaymentEvent, ctx: ApplyContext): void => {
    const paymentId = result.after.id;
    const { before, after, decision } = result;
    // An enclosing transaction that threw after this decision rolled it back with itself.
    if (after.version !== before.version && (payments.get(paymentId)?.version ?? 0) < after.version) return;
    if (after.version !== before.version) deps.events.publish(after);
    if (before.finalAt === null && after.finalAt !== null) deps.onFinal?.(after, ctx.resolvedBy ?? ctx.actor);
    if (decision.kind !== 'refused' && decision.effects.length > 0) deps.onOutbox();
    if (after.state !== before.state) {
      deps.logger.info('payment state changed', { paymentId, terminalId: after.terminalId, from: before.state, to: after.state, by: ctx.actor });
    } else if (decision.kind !== 'changed') {
      deps.logger.debug('payment event without change', { paymentId, terminalId: after.terminalId, event: event.type, note: decision.kind === 'refused' ? decision.message : decision.note });
    }
    if (after.attention && after.attention !== before.attention) {
      deps.logger.warn('payment needs attention', { paymentId, terminalId: after.terminalId, attention: after.attention, state: after.state });
    }
  };

  return {
    /** Applies `event` to the payment; returns the decision and the payment before and after. */
    apply(paymentId: string, event: PaymentEvent, ctx: ApplyContext): ApplyResult {
      const result = group.run(() => tx.immediate(paymentId, event, ctx));
      group.afterCommit(() => told(result, event, ctx));
      return result;
    },
  };
}

export type Applier = ReturnType<typeof createApplier>;
