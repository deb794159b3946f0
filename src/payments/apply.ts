import type { Logger } from '../shared/logger.js';
import type { GroupCommit } from '../shared/db/group-commit.js';
import type { PaymentEvents } from './events.js';
import type { Owed } from './owed.js';
import type { PaymentRepository } from './repository.js';
import { decide, refundableMinor, type Decision, type Effect, type LateApprovalPolicy, type PaymentEvent } from './state-machine.js';
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
  /** The key and reason of an upstream cancel this decision may owe (an Electrum reversal's advice id and reason). */
  upstream?: { key?: string; reason?: string };
}

export interface ApplyResult {
  before: Payment;
  after: Payment;
  decision: Decision;
}

export interface ApplyDeps {
  /** Group commit: the decision joins the current batch (a savepoint of it); listeners hear of it after its commit. */
  group: Pick<GroupCommit, 'transaction' | 'afterCommit'>;
  payments: PaymentRepository;
  owed: Owed;
  events: PaymentEvents;
  logger: Logger;
  clock: () => number;
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
  const { payments, group } = deps;

  const owe = (p: Payment, effect: Effect, ctx: ApplyContext): void => {
    if (effect.type === 'upstream_cancel') {
      deps.owed.cancel(p, ctx.upstream);
      return;
    }
    // A full refund of a late approval: whatever was approved and is not refunded or being refunded.
    const amount = refundableMinor(p, payments.pendingRefundsMinor(p.id));
    if (amount <= 0) return;
    deps.owed.refund(p, { amountMinor: amount, reason: 'late approval', requestedBy: 'system:late-approval' });
  };

  const tx = (paymentId: string, event: PaymentEvent, ctx: ApplyContext): ApplyResult => {
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
    if (decision.kind !== 'refused') for (const effect of decision.effects) owe(after, effect, ctx);
    ctx.alsoInTransaction?.(after);
    return { before, after, decision };
  };

  /** Tells listeners and the log about a committed decision. */
  const told = (result: ApplyResult, event: PaymentEvent, ctx: ApplyContext): void => {
    const paymentId = result.after.id;
    const { before, after, decision } = result;
    // An enclosing transaction that threw after this decision rolled it back with itself.
    // The version alone tells; the whole row (every column, a base64 QR image among them when
    // PartPay sends one) was read and mapped again for every decision.
    if (after.version !== before.version && (payments.version(paymentId) ?? 0) < after.version) return;
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
      const result = group.transaction(() => tx(paymentId, event, ctx));
      group.afterCommit(() => told(result, event, ctx));
      return result;
    },
  };
}

export type Applier = ReturnType<typeof createApplier>;
