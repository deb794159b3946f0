import { createHash } from 'node:crypto';
import type { OutboxItem } from '../outbox/repository.js';
import type { Repos, Store } from '../storage/port.js';
import { ConflictError, IdempotencyMismatchError, NotFoundError, UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Applier } from './apply.js';
import { owedOf, type Owed } from './owed.js';
import type { DeliveryResult, OwedRefund, Providers } from './provider.js';
import { isOpen, PAID_STATES, refundableMinor, settledMinor } from './state-machine.js';
import type { Payment, Refund } from './types.js';

export interface RefundsDeps {
  store: Pick<Store, 'tx' | 'repos'>;
  owed: Owed;
  applier: Applier;
  providers: Providers;
  logger: Logger;
  clock: () => number;
  onOutbox: () => void;
  /** How soon the outbox asks again about a refund the provider left pending. */
  pendingRecheckMs?: number;
}

/** A refund as a terminal, the console, the CLI or an Electrum advice asks for it. */
export interface RefundRequest {
  /** Minor units; absent: everything still refundable. */
  amountMinor?: number | undefined;
  reason: string | null;
  /** Who asks, journaled: `terminal:T1`, `operator:alice`, `pos:pos-1`. */
  actor: string;
  /** Attempt it at once (someone waits for the answer) when the provider refunds at once; else leave it to the outbox. */
  now: boolean;
  /** A retried request with the same key and body gets the first refund. */
  idempotency?: { scope: string; key: string; request: unknown } | undefined;
  /** The provider's key for it (an Electrum advice id), claimed by the caller, delivered by the caller: see `RefundToRecord` in owed.ts. */
  key?: string;
  claimed?: boolean;
  deliveredByCaller?: boolean;
  /** More writes that commit with the refund's record (an operator's journaled resolution). */
  alsoInTransaction?: (r: Repos, p: Payment, refund: Refund) => Promise<void>;
}

const hash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Refunds, written once for every provider and every caller: the one refundable-amount rule,
 * the record and its owed delivery in one transaction, an attempt at once where the provider
 * allows it (never two attempts of one refund at a time, in this process), and the settlement
 * (the refund and the payment's refunded amount in one transaction).
 */
export function createRefunds(deps: RefundsDeps) {
  const { store } = deps;
  const payments = store.repos.payments;
  const inflight = new Set<string>();

  /** Refuses a refund the rule does not allow, with a code and words a POS developer can act on. */
  async function allowance(r: Repos, p: Payment): Promise<number> {
    const pending = await r.payments.pendingRefundsMinor(p.id);
    const left = refundableMinor(p, pending);
    if (left > 0) return left;
    const provider = deps.providers.of(p).label;
    if (p.approvedMinor !== null && p.refundedMinor >= p.approvedMinor) {
      throw new ConflictError('nothing_left_to_refund', `payment ${p.id} is already fully refunded`, { details: { paymentId: p.id, state: p.state } });
    }
    if (p.approvedMinor === null || (!PAID_STATES.includes(p.state) && p.attention !== 'late_approval')) {
      throw new ConflictError('not_refundable', `payment ${p.id} is ${p.state} and ${provider} has not approved it: there is nothing to refund${isOpen(p.state) ? ' (cancel it instead)' : ''}`, { details: { paymentId: p.id, state: p.state } });
    }
    if (pending > 0) throw new ConflictError('refund_pending', `a refund of ${pending} minor units is already pending for payment ${p.id}; the daemon's outbox delivers it`, { details: { paymentId: p.id, pendingMinor: pending } });
    throw new ConflictError('nothing_left_to_refund', `payment ${p.id} is already fully refunded`, { details: { paymentId: p.id, state: p.state } });
  }

  /**
   * Records a refund of `p` (read inside the caller's transaction `r`) and owes its delivery.
   * @throws ConflictError when the rule or the provider refuses it.
   */
  async function record(r: Repos, p: Payment, input: Omit<RefundRequest, 'idempotency' | 'alsoInTransaction'>): Promise<{ refund: Refund; owed: OwedRefund; outboxId: number | null }> {
    const left = await allowance(r, p);
    const amount = input.amountMinor ?? left;
    if (amount > left) throw new ConflictError('refund_exceeds_amount', `refund of ${amount} exceeds the ${left} still refundable`, { details: { paymentId: p.id, refundableMinor: left } });
    const provider = deps.providers.of(p);
    const atOnce = input.now && provider.refundsAtOnce;
    return deps.owed.refund(r, p, {
      amountMinor: amount,
      reason: input.reason,
      requestedBy: input.actor,
      // Tried at once: the owed row is the safety net for a crash during the attempt, due only after it could have ended.
      notBefore: deps.clock() + (atOnce ? provider.attemptBoundMs : 0),
      ...(input.key === undefined ? {} : { key: input.key }),
      ...(input.claimed ? { claimed: true } : {}),
      ...(input.deliveredByCaller ? { deliveredByCaller: true } : {}),
    });
  }

  /** Marks a refund succeeded and counts it on the payment, in one transaction; clears a late approval it settles. */
  async function settle(refund: Refund, upstreamRefundId: string | null, actor: string, also?: (r: Repos) => Promise<void>): Promise<void> {
    await store.tx(async (r) => {
      // The payment first: on PostgreSQL its row lock orders this settle against any other change of it.
      await r.payments.getForUpdate(refund.paymentId);
      if (await r.payments.settleRefund(refund.id, 'succeeded', upstreamRefundId, null, deps.clock())) {
        await r.payments.journal({ paymentId: refund.paymentId, at: deps.clock(), kind: 'upstream_response', actor, detail: { call: 'refund', refundId: refund.id, upstreamRefundId } });
        const { after } = await deps.applier.applyIn(r, refund.paymentId, { type: 'refund_settled', amountMinor: refund.amountMinor }, { actor, kind: 'refund_settled', detail: { refundId: refund.id, amountMinor: refund.amountMinor } });
        if (after.attention === 'late_approval' && settledMinor(after) === 0) {
          await deps.applier.applyIn(r, after.id, { type: 'attention_resolved' }, { actor: 'system:late-approval', kind: 'resolution', detail: { action: 'refunded', refundId: refund.id } });
        }
      }
      await also?.(r);
    });
  }

  async function fail(refund: Refund, why: string, actor: string, also?: (r: Repos) => Promise<void>): Promise<void> {
    await store.tx(async (r) => {
      await r.payments.settleRefund(refund.id, 'failed', null, why, deps.clock());
      await r.payments.journal({ paymentId: refund.paymentId, at: deps.clock(), kind: 'upstream_error', actor, detail: { call: 'refund', refundId: refund.id, message: why } });
      await also?.(r);
    });
  }

  /**
   * Asks the provider for one refund and records what it said. One attempt per refund at a
   * time: a second (the outbox's safety net while the first is still waiting) is told to wait.
   * @throws what the provider throws when it will not get better by retrying (the refund is failed first).
   */
  async function attempt(p: Payment, refund: Refund, owed: OwedRefund, doneWith?: (r: Repos) => Promise<void>): Promise<DeliveryResult> {
    if (inflight.has(refund.id)) return { waitUntilMs: deps.clock() + 1_000 };
    inflight.add(refund.id);
    const provider = deps.providers.of(p);
    const actor = provider.name;
    let answer;
    try {
      answer = await provider.refund(p, refund, owed);
    } catch (error) {
      if (error instanceof UpstreamError && error.retryable) {
        await payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_error', actor, detail: { call: 'refund', refundId: refund.id, message: message(error), queued: true } });
        return 'retry';
      }
      await fail(refund, message(error), actor, doneWith);
      throw error;
    } finally {
      inflight.delete(refund.id);
    }
    // Our own storage failing from here on leaves the refund pending: the outbox asks again with
    // the same key and the provider answers with the same refund, never a second one.
    switch (answer.kind) {
      case 'succeeded':
        await settle(refund, answer.upstreamRefundId, actor, doneWith);
        return 'done';
      case 'declined':
        await fail(refund, `${provider.label} declined the refund: ${answer.message}`, actor, doneWith);
        return 'done';
      case 'pending':
        await payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_response', actor, detail: { call: 'refund', refundId: refund.id, pending: answer.message } });
        return { waitUntilMs: deps.clock() + (deps.pendingRecheckMs ?? 60_000) };
      case 'wait':
        return { waitUntilMs: answer.untilMs };
    }
  }

  return {
    record,
    settle,

    /**
     * Refunds all (no amount) or part of a payment for whoever asks. Recorded and owed before
     * the provider is called, so a crash during the call cannot strand it; answered with the
     * refund as it stands (succeeded, pending for the outbox, or failed).
     * @throws NotFoundError, ConflictError (the rule or the provider refuses), IdempotencyMismatchError, UpstreamError (the provider refused it for good).
     */
    async request(paymentId: string, input: RefundRequest): Promise<{ payment: Payment; refund: Refund; fresh: boolean }> {
      const requestHash = input.idempotency ? hash(input.idempotency.request) : null;
      const prepared = await store.tx(async (r) => {
        const idem = input.idempotency;
        if (idem) {
          const seen = await r.payments.findIdempotency(idem.scope, idem.key);
          if (seen) {
            const refund = await r.payments.getRefund(seen.paymentId);
            if (!refund || refund.paymentId !== paymentId || seen.requestHash !== requestHash) {
              throw new IdempotencyMismatchError(`Idempotency-Key "${idem.key}" was already used for a different refund request`);
            }
            return { refund, owed: null, outboxId: null, fresh: false };
          }
        }
        const current = await r.payments.getForUpdate(paymentId);
        if (!current) throw new NotFoundError(`no payment ${paymentId}`);
        const made = await record(r, current, input);
        await input.alsoInTransaction?.(r, current, made.refund);
        if (idem) await r.payments.saveIdempotency(idem.scope, idem.key, requestHash as string, made.refund.id, deps.clock());
        return { ...made, fresh: true };
      });
      const p = (await payments.get(paymentId)) as Payment;
      if (prepared.fresh && prepared.owed && input.now && deps.providers.of(p).refundsAtOnce) {
        const outboxId = prepared.outboxId;
        // Settled (or refused) at once: the safety-net row owes nothing more, in the settlement's own transaction.
        const doneWith = outboxId === null ? undefined : async (r: Repos) => r.outbox.markDone(outboxId, deps.clock());
        const result = await attempt(p, prepared.refund, prepared.owed, doneWith);
        if (outboxId !== null && result !== 'done') {
          // Not done at once: bring the owed row forward (or to when the provider said).
          await store.repos.outbox.postpone(outboxId, result === 'retry' ? deps.clock() : result.waitUntilMs, deps.clock());
          deps.onOutbox();
        }
      } else if (prepared.fresh) {
        deps.onOutbox();
      }
      return { payment: (await payments.get(paymentId)) as Payment, refund: (await payments.getRefund(prepared.refund.id)) as Refund, fresh: prepared.fresh };
    },

    /** Delivers an owed refund from the outbox (same key as every earlier attempt). */
    async deliver(item: OutboxItem, p: Payment): Promise<DeliveryResult> {
      const refund = await payments.getRefund(String(item.payload['refundId']));
      if (!refund || refund.state !== 'pending') return 'done';
      return attempt(p, refund, owedOf(item, refund.id));
    },
  };
}

export type Refunds = ReturnType<typeof createRefunds>;
