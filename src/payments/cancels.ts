import type { OutboxItem } from '../outbox/repository.js';
import type { Store } from '../storage/port.js';
import { ConflictError, NotFoundError, UpstreamError } from '../shared/errors.js';
import type { Applier } from './apply.js';
import { owedOf, type Owed } from './owed.js';
import type { DeliveryResult, Providers } from './provider.js';
import type { Reconciler } from './reconcile.js';
import { isOpen, PAID_STATES } from './state-machine.js';
import type { Payment } from './types.js';

export interface CancelsDeps {
  store: Pick<Store, 'tx' | 'repos'>;
  applier: Applier;
  owed: Owed;
  providers: Providers;
  reconciler: Pick<Reconciler, 'reconcile' | 'applyStatus'>;
  clock: () => number;
  newId: () => string;
}

/** Who cancels: journaled as the actor, recorded as what resolved the payment. */
export interface CancelBy {
  actor: string;
  resolvedBy: 'terminal' | 'operator' | 'reversal';
  /** Decide here and leave the upstream call to the outbox (the CLI's `--defer`). */
  defer?: boolean;
}

/** What a cancel of an approved payment (a late approval) did: done upstream now, or owed from the outbox. */
export type VoidResult = 'cancelled' | 'cancel_owed';

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Cancels, written once for every provider and every caller (terminal, console, CLI, Electrum
 * advice, expiry): ask the provider first where it lets us (so an approval at the same moment
 * wins), else decide here and owe the cancel (or void) from the outbox.
 */
export function createCancels(deps: CancelsDeps) {
  const { applier, store } = deps;
  const payments = store.repos.payments;

  const load = async (id: string): Promise<Payment> => {
    const p = await payments.get(id);
    if (!p) throw new NotFoundError(`no payment ${id}`);
    return p;
  };

  /** Decides the cancel here; the provider is told from the outbox (nothing to tell when it holds nothing). */
  async function decideHere(p: Payment, by: CancelBy, detail: Record<string, unknown>): Promise<void> {
    // Only an open payment is voided; a paid one is refused as a cancel ("refund it instead").
    const event = isOpen(p.state) && deps.providers.of(p).voidsOnCancel(p) ? ({ type: 'reversed' } as const) : ({ type: 'cancel_requested' } as const);
    const { decision } = await applier.apply(p.id, event, { actor: by.actor, kind: 'request', detail: { operation: 'cancel', ...detail }, resolvedBy: by.resolvedBy, upstream: { reason: 'CANCELLED' } });
    if (decision.kind === 'refused') throw new ConflictError(decision.code, decision.message, { details: { paymentId: p.id, state: p.state } });
  }

  /** Learns where a payment stands after the provider refused its cancel; cancels here if it is still open. */
  async function afterRefusal(p: Payment, by: CancelBy, refusal: string): Promise<void> {
    let current = p;
    try {
      current = await deps.reconciler.reconcile(p, `cancel refused: ${refusal}`);
    } catch (error) {
      await payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_error', actor: deps.providers.of(p).name, detail: { call: 'status', after: 'cancel refused', message: message(error) } });
    }
    if (isOpen(current.state)) await decideHere(current, by, { upstream: refusal });
  }

  return {
    /**
     * Cancels an open payment. Answers the payment as it ends up: cancelled (or voided), or
     * what the provider had decided first.
     * @throws NotFoundError; ConflictError when it is already final (paid: "refund it instead").
     */
    async cancel(id: string, by: CancelBy): Promise<Payment> {
      const p = await load(id);
      if (p.state === 'cancelled' || !isOpen(p.state)) {
        await decideHere(p, by, {});
        return load(id);
      }
      const provider = deps.providers.of(p);
      if (!provider.asksBeforeCancel || p.upstreamOrderId === null || by.defer) {
        await decideHere(p, by, by.defer && p.upstreamOrderId ? { queued: true } : {});
        return load(id);
      }
      try {
        const answer = await provider.cancel(p, { key: deps.newId(), reason: 'CANCELLED' });
        if (answer.kind === 'answered') {
          const outcome = answer.outcome === null || answer.outcome === 'pending' ? 'cancelled' : answer.outcome;
          await applier.apply(p.id, { type: 'provider_status', outcome, source: 'cancel_response' }, { actor: by.actor, kind: 'upstream_response', detail: { call: 'cancel', status: answer.status }, resolvedBy: by.resolvedBy });
        } else if (answer.kind === 'refused') {
          await afterRefusal(p, by, answer.message);
        } else {
          await decideHere(p, by, { queued: true });
        }
      } catch (error) {
        // The provider could not be reached: cancelled here, the cancel owed upstream.
        await decideHere(await load(id), by, { upstream: message(error), queued: true });
      }
      return load(id);
    },

    /**
     * Cancels (voids) upstream a payment approved after the terminal was told "not paid", so the
     * customer is not charged. Clears the flag once the provider confirms.
     * @throws ConflictError when the provider will not: the approval stands, refund it instead.
     */
    async voidApproval(p: Payment, by: CancelBy): Promise<VoidResult> {
      const provider = deps.providers.of(p);
      const owe = async (): Promise<VoidResult> => {
        await store.tx((r) => deps.owed.cancel(r, p, { reason: 'CANCELLED' }));
        return 'cancel_owed';
      };
      if (by.defer || !provider.asksBeforeCancel) return owe();
      let answer;
      try {
        answer = await provider.cancel(p, { key: deps.newId(), reason: 'CANCELLED' });
      } catch (error) {
        await payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_error', actor: by.actor, detail: { call: 'cancel', message: message(error), queued: error instanceof UpstreamError && error.retryable } });
        if (error instanceof UpstreamError && !error.retryable) throw new ConflictError('cancel_refused', `${provider.label} refused to cancel payment ${p.id} (${error.message}): the customer's payment stands; resolve with --action refund`);
        return owe();
      }
      if (answer.kind === 'wait') return owe();
      if (answer.kind === 'refused') throw new ConflictError('cancel_refused', `${provider.label} refused to cancel payment ${p.id} (${answer.message}): the customer's payment stands; resolve with --action refund`);
      await payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_response', actor: by.actor, detail: { call: 'cancel', status: answer.status } });
      if (answer.outcome !== 'cancelled') {
        throw new ConflictError('cancel_refused', `${provider.label} answered "${answer.status}" to the cancel of payment ${p.id}: it is not cancelled; resolve with --action refund`);
      }
      await applier.apply(p.id, { type: 'attention_resolved' }, { actor: by.actor, kind: 'resolution', detail: { action: 'cancelled upstream' } });
      return 'cancelled';
    },

    /** Delivers an owed cancel (or void) from the outbox, with the key it was owed with. */
    async deliver(item: OutboxItem, p: Payment): Promise<DeliveryResult> {
      const provider = deps.providers.of(p);
      const answer = await provider.cancel(p, owedOf(item, `cancel-${p.id}`));
      if (answer.kind === 'wait') return { waitUntilMs: answer.untilMs };
      if (answer.kind === 'refused') {
        // Most likely final upstream first: learn which, so an approval is not missed.
        const status = await provider.status(p);
        if (status === null) throw new Error(`${provider.label} refused the cancel: ${answer.message}`);
        await deps.reconciler.applyStatus(p, status, `cancel refused: ${answer.message}`);
        return 'done';
      }
      await payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_response', actor: provider.name, detail: { call: 'cancel', status: answer.status, via: 'outbox' } });
      if (p.attention === 'late_approval' && answer.outcome === 'cancelled') {
        await applier.apply(p.id, { type: 'attention_resolved' }, { actor: 'system:late-approval', kind: 'resolution', detail: { action: 'cancelled upstream' } });
      }
      return 'done';
    },
  };
}

export type Cancels = ReturnType<typeof createCancels>;

/** True for a payment the customer paid (so a cancel is refused: refund it instead). */
export const isPaid = (p: Pick<Payment, 'state'>): boolean => PAID_STATES.includes(p.state);
