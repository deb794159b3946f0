import type { Repos, Store } from '../storage/port.js';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { PaymentsCore } from './core.js';
import { OWED_CANCEL } from './owed.js';
import { isOpen, PAID_STATES } from './state-machine.js';
import type { Payment, Refund } from './types.js';

export const OPERATOR_ACTIONS = ['cancel', 'refund', 'mark-reviewed'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

export interface ResolveInput {
  action: OperatorAction;
  /** Who decided (a person's name or login); journaled as `operator:<by>`. */
  by: string;
  /** Why, in words a later reader understands; journaled. */
  reason: string;
  /** Leave the provider call to the daemon's outbox instead of making it now. */
  deferUpstream?: boolean;
}

/** What a resolution did. `*_owed`: the provider could not be reached (or was not asked); the daemon's outbox delivers it. */
export type ResolveResult = 'refunded' | 'refund_owed' | 'cancelled' | 'cancel_owed' | 'reviewed';

export interface ResolveOutcome {
  action: OperatorAction;
  result: ResolveResult;
  payment: Payment;
  refund: Refund | null;
}

export interface OperatorDeps {
  store: Pick<Store, 'tx' | 'repos'>;
  core: Pick<PaymentsCore, 'applier' | 'cancels' | 'refunds'>;
  clock: () => number;
}

const PRINTABLE = /^[^\p{Cc}]+$/u;

function assertInput(input: ResolveInput): void {
  if (!(OPERATOR_ACTIONS as readonly string[]).includes(input.action)) throw new ValidationError(`action must be one of ${OPERATOR_ACTIONS.join(', ')}`);
  if (!input.by.trim() || input.by.length > 64 || !PRINTABLE.test(input.by)) throw new ValidationError('by: give who decides this (1-64 printable characters)');
  if (!input.reason.trim() || input.reason.length > 500 || !PRINTABLE.test(input.reason)) throw new ValidationError('reason: say why (1-500 printable characters)');
}

/**
 * Operator resolutions of payments in doubt (flagged for attention, approved after the terminal
 * was told "not paid", or still open): refund what the customer paid, cancel upstream, or mark
 * a flag reviewed. Each is journaled as `operator_resolution` with who and why before anything
 * is done; the money moves through the core's one cancel and one refund, whatever the
 * provider. Free of CLI concerns so the web console reuses it; refusals are {@link ConflictError}s.
 * @example
 * const ops = createOperatorActions({ store, core, clock: Date.now });
 * await ops.resolve(paymentId, { action: 'refund', by: 'alice', reason: 'customer charged after cancel' });
 */
export function createOperatorActions(deps: OperatorDeps) {
  const { core, store } = deps;
  const payments = store.repos.payments;

  const load = async (id: string, r: Repos = store.repos): Promise<Payment> => {
    const p = await r.payments.get(id);
    if (!p) throw new NotFoundError(`no payment ${id}`);
    return p;
  };
  const journalResolution = async (r: Repos, p: Payment, input: ResolveInput, detail: Record<string, unknown> = {}): Promise<void> => {
    await r.payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'operator_resolution', actor: `operator:${input.by}`, detail: { action: input.action, by: input.by, reason: input.reason, state: p.state, attention: p.attention, ...detail } });
  };
  const done = async (action: OperatorAction, result: ResolveResult, id: string, refund: Refund | null = null): Promise<ResolveOutcome> => ({ action, result, payment: await load(id), refund });
  const cancelOwed = async (id: string): Promise<boolean> => (await store.repos.outbox.ofPayment(id)).some((o) => o.kind === OWED_CANCEL && o.state === 'pending');

  async function refund(id: string, input: ResolveInput): Promise<ResolveOutcome> {
    const actor = `operator:${input.by}`;
    // The resolution is journaled with the refund, or not at all (a refused refund leaves no trace).
    const { refund: made } = await core.refunds.request(id, { reason: input.reason, actor, now: !input.deferUpstream, alsoInTransaction: (r, p, refund) => journalResolution(r, p, input, { refundId: refund.id, amountMinor: refund.amountMinor }) });
    if (made.state === 'failed') throw new ConflictError('refund_declined', `the refund of payment ${id} was not made: ${made.errorMessage ?? 'declined upstream'}`);
    if (made.state === 'pending') return done('refund', 'refund_owed', id, made);
    const after = await load(id);
    // A settled refund clears a late approval once nothing is charged; clear any other flag the operator settled.
    if (after.attention && after.refundedMinor === (after.approvedMinor ?? after.amountMinor)) {
      await core.applier.apply(id, { type: 'attention_resolved' }, { actor, kind: 'resolution', detail: { action: 'refund', refundId: made.id } });
    }
    return done('refund', 'refunded', id, await payments.getRefund(made.id));
  }

  async function cancel(id: string, input: ResolveInput): Promise<ResolveOutcome> {
    const p = await store.tx(async (r): Promise<Payment> => {
      const current = (await r.payments.getForUpdate(id)) ?? (await load(id, r));
      if (PAID_STATES.includes(current.state)) throw new ConflictError('already_approved', `payment ${id} is ${current.state}: refund it instead of cancelling`);
      if (!isOpen(current.state) && current.attention !== 'late_approval') {
        throw new ConflictError('nothing_to_resolve', `payment ${id} is already ${current.state} and not flagged for attention: there is nothing to cancel`);
      }
      if (!isOpen(current.state) && (await r.payments.pendingRefundsMinor(id)) > 0) {
        throw new ConflictError('refund_pending', `a refund is already pending for payment ${id}; the daemon's outbox delivers it`);
      }
      await journalResolution(r, current, input);
      return current;
    });
    const by = { actor: `operator:${input.by}`, resolvedBy: 'operator' as const, ...(input.deferUpstream ? { defer: true } : {}) };
    if (!isOpen(p.state)) return done('cancel', await core.cancels.voidApproval(p, by), id);
    const after = await core.cancels.cancel(id, by);
    if (after.state === 'cancelled' || after.state === 'reversed') return done('cancel', (await cancelOwed(id)) ? 'cancel_owed' : 'cancelled', id);
    const paid = PAID_STATES.includes(after.state);
    throw new ConflictError(paid ? 'already_approved' : 'already_final', `payment ${id} was ${after.state} before it could be cancelled${paid ? '; refund it instead' : ''}`);
  }

  async function markReviewed(id: string, input: ResolveInput): Promise<ResolveOutcome> {
    await store.tx(async (r) => {
      const p = (await r.payments.getForUpdate(id)) ?? (await load(id, r));
      if (!p.attention) throw new ConflictError('nothing_to_resolve', `payment ${id} is not flagged for attention: nothing to mark reviewed`);
      await journalResolution(r, p, input);
      await core.applier.applyIn(r, id, { type: 'attention_resolved' }, { actor: `operator:${input.by}`, kind: 'resolution', detail: { action: 'mark-reviewed', reason: input.reason } });
    });
    return done('mark-reviewed', 'reviewed', id);
  }

  return {
    /**
     * Settles a payment in doubt as the operator decided.
     * @throws ValidationError for a bad input, NotFoundError, ConflictError when the action does not fit the payment, UpstreamError when the provider refuses a refund.
     */
    async resolve(paymentId: string, input: ResolveInput): Promise<ResolveOutcome> {
      assertInput(input);
      await load(paymentId);
      if (input.action === 'refund') return refund(paymentId, input);
      if (input.action === 'cancel') return cancel(paymentId, input);
      return markReviewed(paymentId, input);
    },
  };
}

export type OperatorActions = ReturnType<typeof createOperatorActions>;
