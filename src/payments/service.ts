import { createHash } from 'node:crypto';
import type { PartPayClient } from '../partpay/client.js';
import type { Registry, Terminal } from '../registry/registry.js';
import { immediateCommit, type GroupCommit } from '../shared/db/group-commit.js';
import type { Db } from '../shared/db/open.js';
import { ConflictError, IdempotencyMismatchError, isAppError, NotFoundError, UpstreamError, ValidationError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Merchant } from '../shared/config/load.js';
import type { Applier } from './apply.js';
import type { PaymentEvents } from './events.js';
import type { PaymentRepository } from './repository.js';
import { isOpen, normaliseProviderStatus, refundableMinor } from './state-machine.js';
import type { Payment, Refund } from './types.js';
import type { UpstreamSync } from './upstream-sync.js';

export interface PaymentServiceDeps {
  db: Db;
  /** Group commit: a create joins the current batch (the PartPay call waits for its commit). Default: commits alone. */
  group?: Pick<GroupCommit, 'transaction'>;
  payments: PaymentRepository;
  applier: Applier;
  events: PaymentEvents;
  registry: Registry;
  partpay: PartPayClient;
  logger: Logger;
  clock: () => number;
  newId: () => string;
  settings: { orderTtlSeconds: number };
  /** Called after an order is created, to warm the QR image off the request path. */
  onOrderCreated?: (payment: Payment) => void;
  sync: UpstreamSync;
}

export interface CreatePaymentInput {
  amountMinor: number;
  currency: string;
  merchantReference: string;
}

const isStorageFailure = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code.startsWith('SQLITE_');

const hashRequest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * What terminals can do with payments: create (idempotently), read, wait, cancel, refund.
 * Upstream calls happen outside transactions; every decision they lead to goes through the
 * applier, so it is journaled and durable before the terminal hears of it.
 */
export function createPaymentService(deps: PaymentServiceDeps) {
  const { payments, applier, registry, partpay, logger } = deps;
  const group = deps.group ?? immediateCommit(deps.db);
  const inflight = new Map<string, Promise<Payment>>();

  const merchantOf = (p: { merchantId: string }): Merchant => {
    const m = registry.merchant(p.merchantId);
    if (!m) throw new Error(`merchant ${p.merchantId} is no longer configured`);
    return m;
  };

  /** Reads a payment the terminal owns; another terminal's payment is "not found". */
  const owned = (terminal: Terminal, id: string): Payment => {
    const p = payments.get(id);
    if (!p || p.terminalId !== terminal.id) throw new NotFoundError(`no payment ${id} for terminal ${terminal.id}`);
    return p;
  };

  const submitOrder = (payment: Payment): Promise<Payment> => {
    const running = inflight.get(payment.id);
    if (running) return running;
    const promise = (async () => {
      try {
        const order = await partpay.createOrder(merchantOf(payment), {
          paymentId: payment.id,
          merchantReference: payment.merchantReference,
          amountMinor: payment.amountMinor,
          currency: payment.currency,
          // Stable across retries (ours and the terminal's), so PartPay never makes a second order.
          idempotencyKey: payment.id,
        });
        const { after } = applier.apply(
          payment.id,
          { type: 'order_created', orderId: order.orderId, orderNumber: order.orderNumber },
          {
            actor: 'partpay',
            kind: 'upstream_response',
            detail: { call: 'createOrder', orderId: order.orderId, orderNumber: order.orderNumber, status: order.status, qr: order.qr.kind },
            alsoInTransaction: () => payments.setQr(payment.id, order.qr.kind, order.qr.kind === 'base64' ? order.qr.data : order.qr.url),
          },
        );
        deps.onOrderCreated?.(payments.get(after.id) ?? after);
      } catch (error) {
        // Our own database failing (disk full) is not PartPay failing: leave the payment
        // created; a retry with the same Idempotency-Key resubmits with the same data.
        if (isStorageFailure(error)) throw error;
        const code = isAppError(error) ? error.code : 'internal_error';
        const message = error instanceof Error ? error.message : String(error);
        logger.warn('create order failed', { paymentId: payment.id, terminalId: payment.terminalId, code, message });
        applier.apply(payment.id, { type: 'order_failed', code, message }, { actor: 'partpay', kind: 'upstream_error', detail: { call: 'createOrder', code, message } });
      } finally {
        inflight.delete(payment.id);
      }
      return payments.get(payment.id) as Payment;
    })();
    inflight.set(payment.id, promise);
    return promise;
  };

  return {
    /**
     * Creates a payment and its PartPay order. With an idempotency key, a retry returns the
     * first payment (waiting for its order if still in flight) and never creates a second
     * order; the same key with a different body is refused.
     */
    async create(terminal: Terminal, input: CreatePaymentInput, idempotencyKey: string | undefined): Promise<{ payment: Payment; replayed: boolean }> {
      const merchant = merchantOf(terminal);
      if (input.currency !== merchant.currency) {
        throw new ValidationError(`currency ${input.currency} does not match merchant ${merchant.id}'s PartPay currency ${merchant.currency}`, { details: { field: 'currency' } });
      }
      const requestHash = hashRequest(input);
      const scope = `terminal:${terminal.id}`;
      const now = deps.clock();
      const outcome = group.transaction((): { paymentId: string; replayed: boolean } => {
        if (idempotencyKey !== undefined) {
          const seen = payments.findIdempotency(scope, idempotencyKey);
          if (seen) {
            if (seen.requestHash !== requestHash) throw new IdempotencyMismatchError(`Idempotency-Key "${idempotencyKey}" was already used for a different payment request`, { details: { paymentId: seen.paymentId } });
            return { paymentId: seen.paymentId, replayed: true };
          }
        }
        const id = deps.newId();
        payments.insert({ id, provider: 'partpay', terminalId: terminal.id, storeId: terminal.storeId, merchantId: merchant.id, ...input, createdAt: now, expiresAt: now + deps.settings.orderTtlSeconds * 1000 });
        if (idempotencyKey !== undefined) payments.saveIdempotency(scope, idempotencyKey, requestHash, id, now);
        payments.journal({ paymentId: id, at: now, kind: 'request', actor: `terminal:${terminal.id}`, detail: { operation: 'create', ...input, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) } });
        payments.journal({ paymentId: id, at: now, kind: 'state_changed', actor: `terminal:${terminal.id}`, fromState: null, toState: 'created', version: 1 });
        return { paymentId: id, replayed: false };
      });
      const payment = payments.get(outcome.paymentId) as Payment;
      logger.info(outcome.replayed ? 'payment create replayed' : 'payment created', { paymentId: payment.id, terminalId: terminal.id, amountMinor: input.amountMinor });
      if (payment.state === 'created') return { payment: await submitOrder(payment), replayed: outcome.replayed };
      return { payment, replayed: outcome.replayed };
    },

    get(terminal: Terminal, id: string): Payment {
      return owned(terminal, id);
    },

    /** Resolves when the payment's version passes `afterVersion`, or with the current payment at timeout/abort. */
    async waitForChange(terminal: Terminal, id: string, afterVersion: number, timeoutMs: number, signal: AbortSignal): Promise<Payment> {
      const current = owned(terminal, id);
      if (current.version > afterVersion || timeoutMs <= 0 || signal.aborted) return current;
      return new Promise<Payment>((resolve) => {
        const done = (p?: Payment) => {
          unsubscribe();
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(p ?? (payments.get(id) as Payment));
        };
        const onAbort = () => done();
        const unsubscribe = deps.events.subscribe(id, (p) => {
          if (p.version > afterVersion) done(p);
        });
        const timer = setTimeout(done, timeoutMs);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },

    /**
     * Cancels an open payment. PartPay is asked first so a customer who approved at the
     * same moment gets "approved", not a cancel; if PartPay cannot be reached the payment is
     * cancelled here and the upstream cancel is owed from the outbox.
     */
    async cancel(terminal: Terminal, id: string): Promise<Payment> {
      let p = owned(terminal, id);
      const actor = `terminal:${terminal.id}`;
      if (p.state === 'awaiting_customer' && p.upstreamOrderId) {
        const orderId = p.upstreamOrderId;
        try {
          const status = await partpay.cancelOrder(merchantOf(p), orderId, `cancel-${p.id}`);
          const outcome = normaliseProviderStatus(status.status);
          applier.apply(p.id, { type: 'provider_status', outcome: outcome === null || outcome === 'pending' ? 'cancelled' : outcome, source: 'cancel_response' }, { actor, kind: 'upstream_response', detail: { call: 'cancelOrder', status: status.status }, resolvedBy: 'terminal' });
        } catch (error) {
          if (error instanceof UpstreamError && !error.retryable) {
            // PartPay refused: the order most likely reached a final state first. Ask it which.
            const status = await partpay.getOrder(merchantOf(p), orderId).catch(() => null);
            const outcome = status ? normaliseProviderStatus(status.status) : null;
            if (outcome && outcome !== 'pending') {
              applier.apply(p.id, { type: 'provider_status', outcome, source: 'reconcile' }, { actor: 'partpay', kind: 'reconcile', detail: { call: 'getOrder', status: status?.status, after: 'cancel refused', message: error.message }, resolvedBy: 'reconcile' });
            } else {
              applier.apply(p.id, { type: 'cancel_requested' }, { actor, kind: 'request', detail: { operation: 'cancel', upstream: error.message }, resolvedBy: 'terminal' });
            }
          } else {
            applier.apply(p.id, { type: 'cancel_requested' }, { actor, kind: 'request', detail: { operation: 'cancel', upstream: error instanceof Error ? error.message : String(error), queued: true }, resolvedBy: 'terminal' });
          }
        }
      } else {
        const { decision } = applier.apply(p.id, { type: 'cancel_requested' }, { actor, kind: 'request', detail: { operation: 'cancel' }, resolvedBy: 'terminal' });
        if (decision.kind === 'refused') throw new ConflictError(decision.code, decision.message, { details: { paymentId: p.id, state: p.state } });
      }
      p = payments.get(id) as Payment;
      if (p.state !== 'cancelled') {
        throw new ConflictError(p.state === 'approved' ? 'already_approved' : 'already_final', `payment was ${p.state} before it could be cancelled${p.state === 'approved' ? '; refund it instead' : ''}`, { details: { paymentId: p.id, state: p.state } });
      }
      return p;
    },

    /**
     * Refunds all (no amount) or part of a paid payment. Succeeds at once when PartPay
     * answers; if PartPay is unreachable the refund stays pending and is retried from the
     * outbox with the same reference, so it is never made twice.
     */
    async refund(terminal: Terminal, id: string, input: { amountMinor?: number | undefined; reason?: string | undefined }, idempotencyKey: string | undefined): Promise<{ payment: Payment; refund: Refund }> {
      const p = owned(terminal, id);
      const scope = `refund:${terminal.id}`;
      const prepared = deps.db.transaction((): { refundId: string; fresh: boolean } => {
        if (idempotencyKey !== undefined) {
          const seen = payments.findIdempotency(scope, idempotencyKey);
          if (seen) {
            const refund = payments.getRefund(seen.paymentId);
            if (!refund || refund.paymentId !== id || seen.requestHash !== hashRequest({ id, ...input })) {
              throw new IdempotencyMismatchError(`Idempotency-Key "${idempotencyKey}" was already used for a different refund request`);
            }
            return { refundId: refund.id, fresh: false };
          }
        }
        const current = payments.get(id) as Payment;
        const refundable = refundableMinor(current, payments.pendingRefundsMinor(id));
        if (refundable === 0) {
          throw new ConflictError(isOpen(current.state) || !['approved', 'partially_refunded'].includes(current.state) ? 'not_refundable' : 'nothing_left_to_refund', current.state === 'refunded' ? 'payment is already fully refunded' : `payment is ${current.state}: only approved payments can be refunded`, { details: { paymentId: id, state: current.state } });
        }
        const amount = input.amountMinor ?? refundable;
        if (amount > refundable) throw new ConflictError('refund_exceeds_amount', `refund of ${amount} exceeds the ${refundable} still refundable`, { details: { refundableMinor: refundable } });
        const refundId = deps.newId();
        const at = deps.clock();
        payments.insertRefund({ id: refundId, paymentId: id, amountMinor: amount, reason: input.reason ?? null, requestedBy: `terminal:${terminal.id}`, at });
        if (idempotencyKey !== undefined) payments.saveIdempotency(scope, idempotencyKey, hashRequest({ id, ...input }), refundId, at);
        payments.journal({ paymentId: id, at, kind: 'refund_requested', actor: `terminal:${terminal.id}`, detail: { refundId, amountMinor: amount, reason: input.reason ?? null } });
        // Owed before PartPay is called, so a crash during the call cannot strand it.
        deps.sync.oweRefund({ id: refundId, paymentId: id }, true);
        return { refundId, fresh: true };
      }).immediate();
      let refund = payments.getRefund(prepared.refundId) as Refund;
      if (prepared.fresh && p.upstreamOrderId) {
        try {
          const result = await partpay.refundOrder(merchantOf(p), p.upstreamOrderId, { amountMinor: refund.amountMinor, currency: p.currency, reference: refund.id });
          deps.sync.settleRefund(refund, result.refundId);
        } catch (error) {
          if (error instanceof UpstreamError && error.retryable) {
            deps.sync.queueRefund(refund, error);
          } else {
            deps.sync.failRefund(refund, error);
            throw error;
          }
        }
      }
      refund = payments.getRefund(prepared.refundId) as Refund;
      return { payment: payments.get(id) as Payment, refund };
    },

    /** Payments of one terminal, newest first. */
    list(terminal: Terminal, filter: { state?: string | undefined; limit?: number | undefined }): Payment[] {
      return payments.list({ terminalId: terminal.id, state: filter.state, limit: filter.limit });
    },
  };

}

export type PaymentService = ReturnType<typeof createPaymentService>;
