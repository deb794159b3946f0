import { createHash } from 'node:crypto';
import type { RegistryView, Terminal } from '../registry/registry.js';
import type { Store } from '../storage/port.js';
import { isStorageFailure } from '../shared/db/open.js';
import { ConflictError, IdempotencyMismatchError, isAppError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Merchant } from '../shared/config/load.js';
import type { PaymentsCore } from './core.js';
import type { PaymentEvents } from './events.js';
import type { OrderingProvider } from './provider.js';
import type { PaymentPageQuery } from './repository.js';
import { PAID_STATES } from './state-machine.js';
import type { Payment, Refund } from './types.js';

export interface PaymentServiceDeps {
  /** The storage port: a create is one transaction (the provider call waits for its commit); reads go through `repos`. */
  store: Pick<Store, 'tx' | 'repos'>;
  core: Pick<PaymentsCore, 'applier' | 'cancels' | 'refunds'>;
  events: PaymentEvents;
  registry: RegistryView;
  /** The provider that makes orders for payments a terminal starts (PartPay). */
  creator: OrderingProvider;
  logger: Logger;
  clock: () => number;
  newId: () => string;
  settings: { orderTtlSeconds: number };
  /** Called after an order is created, to warm the QR image off the request path. */
  onOrderCreated?: (payment: Payment) => void;
}

export interface CreatePaymentInput {
  amountMinor: number;
  currency: string;
  merchantReference: string;
}

const hashRequest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * What terminals can do with payments: create (idempotently), read, wait, cancel, refund.
 * Upstream calls happen outside transactions; every decision they lead to goes through the
 * applier, so it is journaled and durable before the terminal hears of it.
 */
export function createPaymentService(deps: PaymentServiceDeps) {
  const { registry, logger, store } = deps;
  const payments = store.repos.payments;
  const { applier } = deps.core;
  const inflight = new Map<string, Promise<Payment>>();

  const merchantOf = (p: { merchantId: string }): Merchant => {
    const m = registry.merchant(p.merchantId);
    if (!m) throw new Error(`merchant ${p.merchantId} is no longer configured`);
    return m;
  };

  /** Reads a payment the terminal owns; another terminal's payment is "not found". */
  const owned = async (terminal: Terminal, id: string): Promise<Payment> => {
    const p = await payments.get(id);
    if (!p || p.terminalId !== terminal.id) throw new NotFoundError(`no payment ${id} for terminal ${terminal.id}`);
    return p;
  };

  const submitOrder = (payment: Payment): Promise<Payment> => {
    const running = inflight.get(payment.id);
    if (running) return running;
    const promise = (async () => {
      try {
        const order = await deps.creator.create(payment);
        const qr = { qrKind: order.qr.kind, qrData: order.qr.kind === 'base64' ? order.qr.data : order.qr.url };
        const { after } = await applier.apply(
          payment.id,
          { type: 'order_created', orderId: order.orderId, orderNumber: order.orderNumber },
          {
            actor: deps.creator.name,
            kind: 'upstream_response',
            detail: { call: 'createOrder', orderId: order.orderId, orderNumber: order.orderNumber, status: order.status, qr: order.qr.kind },
            alsoInTransaction: (r) => r.payments.setQr(payment.id, qr.qrKind, qr.qrData),
          },
        );
        // The row as just written (the decision's payment plus the QR stored with it, whatever the
        // decision), instead of reading the row back twice (with PartPay's base64 image in it, when it sent one).
        const created: Payment = { ...after, ...qr };
        deps.onOrderCreated?.(created);
        return created;
      } catch (error) {
        // Our own database failing (disk full) is not PartPay failing: leave the payment
        // created; a retry with the same Idempotency-Key resubmits with the same data.
        if (isStorageFailure(error)) throw error;
        const code = isAppError(error) ? error.code : 'internal_error';
        const message = error instanceof Error ? error.message : String(error);
        logger.warn('create order failed', { paymentId: payment.id, terminalId: payment.terminalId, code, message });
        await applier.apply(payment.id, { type: 'order_failed', code, message }, { actor: deps.creator.name, kind: 'upstream_error', detail: { call: 'createOrder', code, message } });
      } finally {
        inflight.delete(payment.id);
      }
      return (await payments.get(payment.id)) as Payment;
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
      const outcome = await store.tx(async ({ payments }): Promise<{ paymentId: string; replayed: boolean }> => {
        if (idempotencyKey !== undefined) {
          const seen = await payments.findIdempotency(scope, idempotencyKey);
          if (seen) {
            if (seen.requestHash !== requestHash) throw new IdempotencyMismatchError(`Idempotency-Key "${idempotencyKey}" was already used for a different payment request`, { details: { paymentId: seen.paymentId } });
            return { paymentId: seen.paymentId, replayed: true };
          }
        }
        const id = deps.newId();
        await payments.insert({ id, provider: deps.creator.name, terminalId: terminal.id, storeId: terminal.storeId, merchantId: merchant.id, ...input, createdAt: now, expiresAt: now + deps.settings.orderTtlSeconds * 1000 });
        if (idempotencyKey !== undefined) await payments.saveIdempotency(scope, idempotencyKey, requestHash, id, now);
        await payments.journal({ paymentId: id, at: now, kind: 'request', actor: `terminal:${terminal.id}`, detail: { operation: 'create', ...input, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) } });
        await payments.journal({ paymentId: id, at: now, kind: 'state_changed', actor: `terminal:${terminal.id}`, fromState: null, toState: 'created', version: 1 });
        return { paymentId: id, replayed: false };
      });
      const payment = (await payments.get(outcome.paymentId)) as Payment;
      logger.info(outcome.replayed ? 'payment create replayed' : 'payment created', { paymentId: payment.id, terminalId: terminal.id, amountMinor: input.amountMinor });
      if (payment.state === 'created') return { payment: await submitOrder(payment), replayed: outcome.replayed };
      return { payment, replayed: outcome.replayed };
    },

    get(terminal: Terminal, id: string): Promise<Payment> {
      return owned(terminal, id);
    },

    /** Resolves when the payment's version passes `afterVersion`, or with the current payment at timeout/abort. */
    async waitForChange(terminal: Terminal, id: string, afterVersion: number, timeoutMs: number, signal: AbortSignal): Promise<Payment> {
      // Listening before the read: a change committed while the read is under way still ends the wait.
      const seen: { change: Payment | null; wake: () => void } = { change: null, wake: () => undefined };
      const unsubscribe = deps.events.subscribe(id, (p) => {
        if (p.version <= afterVersion) return;
        seen.change = p;
        seen.wake();
      });
      try {
        const current = await owned(terminal, id);
        if (current.version > afterVersion || timeoutMs <= 0 || signal.aborted) return current;
        if (seen.change) return seen.change;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          seen.wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
        // Else at timeout or abort: the payment as it is now.
        return seen.change ?? (await payments.get(id)) ?? current;
      } finally {
        unsubscribe();
      }
    },

    /**
     * Cancels an open payment, through its own provider (PartPay is asked first, so a customer
     * who approved at the same moment gets "approved"; an Electrum payment's held pay ends, or
     * its forward is reversed). Answers the cancelled (or voided) payment.
     * @throws ConflictError when the payment was final first ("refund it instead" when paid).
     */
    async cancel(terminal: Terminal, id: string): Promise<Payment> {
      await owned(terminal, id);
      const p = await deps.core.cancels.cancel(id, { actor: `terminal:${terminal.id}`, resolvedBy: 'terminal' });
      if (p.state !== 'cancelled' && p.state !== 'reversed') {
        const paid = PAID_STATES.includes(p.state);
        throw new ConflictError(paid ? 'already_approved' : 'already_final', `payment was ${p.state} before it could be cancelled${paid ? '; refund it instead' : ''}`, { details: { paymentId: p.id, state: p.state } });
      }
      return p;
    },

    /**
     * Refunds all (no amount) or part of a paid payment through its provider. Succeeds at once
     * when the provider answers at once; otherwise the refund stays pending and the outbox
     * delivers it with the same reference, so it is never made twice. A refund the provider
     * declined comes back `failed`.
     */
    async refund(terminal: Terminal, id: string, input: { amountMinor?: number | undefined; reason?: string | undefined }, idempotencyKey: string | undefined): Promise<{ payment: Payment; refund: Refund }> {
      await owned(terminal, id);
      const { payment, refund } = await deps.core.refunds.request(id, {
        amountMinor: input.amountMinor,
        reason: input.reason ?? null,
        actor: `terminal:${terminal.id}`,
        now: true,
        idempotency: idempotencyKey === undefined ? undefined : { scope: `refund:${terminal.id}`, key: idempotencyKey, request: { id, ...input } },
      });
      return { payment, refund };
    },

    /** The refunds of a payment the terminal owns, oldest first. */
    async refundsOf(terminal: Terminal, paymentId: string): Promise<Refund[]> {
      return payments.refundsOf((await owned(terminal, paymentId)).id);
    },

    /** A refund of one of the terminal's payments; another terminal's refund is "not found", as if it did not exist. */
    async getRefund(terminal: Terminal, id: string): Promise<Refund> {
      const refund = await payments.getRefund(id);
      const payment = refund ? await payments.get(refund.paymentId) : null;
      if (!refund || !payment || payment.terminalId !== terminal.id) throw new NotFoundError(`no refund ${id} for terminal ${terminal.id}`);
      return refund;
    },

    /**
     * One page of the terminal's payments, newest first; `startingAfter` is the last payment of
     * the previous page, which must be the terminal's own.
     * @throws ValidationError when the cursor names no payment of this terminal (another's is not told apart from none).
     */
    async page(terminal: Terminal, q: Omit<PaymentPageQuery, 'terminalId' | 'after'> & { startingAfter?: string | undefined }): Promise<{ payments: Payment[]; hasMore: boolean }> {
      let after: PaymentPageQuery['after'];
      if (q.startingAfter !== undefined) {
        const cursor = await payments.get(q.startingAfter);
        if (!cursor || cursor.terminalId !== terminal.id) {
          throw new ValidationError(`query parameter starting_after: no payment ${q.startingAfter} for terminal ${terminal.id}; pass the id of the last payment of the previous page`);
        }
        after = { createdAt: cursor.createdAt, id: cursor.id };
      }
      const { startingAfter: _cursor, ...filter } = q;
      return payments.page({ ...filter, terminalId: terminal.id, after });
    },
  };

}

export type PaymentService = ReturnType<typeof createPaymentService>;
