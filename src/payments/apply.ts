import type { Logger } from '../shared/logger.js';
import type { Repos, Store } from '../storage/port.js';
import type { PaymentEvents } from './events.js';
import type { Owed } from './owed.js';
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
  /** Extra writes that must commit with the decision (e.g. storing the QR), through the transaction's repositories. */
  alsoInTransaction?: (r: Repos, payment: Payment) => Promise<void>;
  /** The key and reason of an upstream cancel this decision may owe (an Electrum reversal's advice id and reason). */
  upstream?: { key?: string; reason?: string };
}

export interface ApplyResult {
  before: Payment;
  after: Payment;
  decision: Decision;
}

export interface ApplyDeps {
  /** The storage port: a decision is one transaction (or part of the caller's); listeners hear of it after its commit. */
  store: Pick<Store, 'tx' | 'repos'>;
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
  const { store } = deps;

  const owe = async (r: Repos, p: Payment, effect: Effect, ctx: ApplyContext): Promise<void> => {
    if (effect.type === 'upstream_cancel') {
      await deps.owed.cancel(r, p, ctx.upstream);
      return;
    }
    // A full refund of a late approval: whatever was approved and is not refunded or being refunded.
    const amount = refundableMinor(p, await r.payments.pendingRefundsMinor(p.id));
    if (amount <= 0) return;
    await deps.owed.refund(r, p, { amountMinor: amount, reason: 'late approval', requestedBy: 'system:late-approval' });
  };

  const decideIn = async (r: Repos, paymentId: string, event: PaymentEvent, ctx: ApplyContext): Promise<ApplyResult> => {
    const { payments } = r;
    const at = deps.clock();
    const before = await payments.getForUpdate(paymentId);
    if (!before) throw new Error(`payment ${paymentId} vanished`);
    const decision = decide(before, event, deps.lateApproval);
    await payments.journal({
      paymentId,
      at,
      kind: ctx.kind,
      actor: ctx.actor,
      detail: { event: event.type, ...('outcome' in event ? { outcome: event.outcome } : {}), ...ctx.detail, decision: decision.kind, note: decision.kind === 'refused' ? decision.message : decision.note },
      rawBody: ctx.rawBody ?? null,
    });
    let after = before;
    if (decision.kind === 'changed') {
      after = await payments.applyPatch(before, decision.patch, at, ctx.resolvedBy ?? null);
      if (after.state !== before.state || after.attention !== before.attention) {
        await payments.journal({
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
    if (decision.kind !== 'refused') for (const effect of decision.effects) await owe(r, after, effect, ctx);
    await ctx.alsoInTransaction?.(r, after);
    return { before, after, decision };
  };

  /** Tells listeners and the log about a committed decision. */
  const told = async (result: ApplyResult, event: PaymentEvent, ctx: ApplyContext): Promise<void> => {
    const paymentId = result.after.id;
    const { before, after, decision } = result;
    // Runs only once the decision's transaction has committed: a transaction that threw (this
    // decision's, or an enclosing one after it) drops what it registered, on either database.
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

  /** Tells of the decision once its transaction `r` commits (if it does). */
  const tellAfterCommit = (r: Repos, result: ApplyResult, event: PaymentEvent, ctx: ApplyContext): void => {
    r.afterCommit(() => {
      told(result, event, ctx).catch((error: unknown) => deps.logger.error('telling of a payment decision failed', { paymentId: result.after.id, error: error instanceof Error ? error.message : String(error) }));
    });
  };

  return {
    /** Applies `event` to the payment as one transaction; returns the decision and the payment before and after. */
    async apply(paymentId: string, event: PaymentEvent, ctx: ApplyContext): Promise<ApplyResult> {
      return store.tx(async (r) => {
        const result = await decideIn(r, paymentId, event, ctx);
        tellAfterCommit(r, result, event, ctx);
        return result;
      });
    },
    /** Applies `event` inside the caller's transaction `r` (the payment row is locked for the rest of it). */
    async applyIn(r: Repos, paymentId: string, event: PaymentEvent, ctx: ApplyContext): Promise<ApplyResult> {
      const result = await decideIn(r, paymentId, event, ctx);
      tellAfterCommit(r, result, event, ctx);
      return result;
    },
  };
}

export type Applier = ReturnType<typeof createApplier>;
