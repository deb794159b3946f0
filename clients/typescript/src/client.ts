import { followEvents, type StreamOptions } from './sse.js';
import { createTransport, newIdempotencyKey, type ClientOptions } from './transport.js';
import type { CancelInput, CreatePaymentInput, ListPaymentsFilters, ListPaymentsQuery, Payment, PaymentPage, PaymentShutdownEvent, QrOverrides, QrText, Refund, RefundInput, RefundList, Terminal, TerminalEvent, TerminalEventType, TerminalShutdownEvent, TransitionEvent, WaitQuery } from './types.js';

/** An event of the terminal's stream (`GET /v1/events`). */
export type TerminalStreamEvent = { type: TerminalEventType; id: string; data: TerminalEvent } | { type: 'shutdown'; id: null; data: TerminalShutdownEvent };
/** An event of one payment's stream (`GET /v1/payments/{id}/events`). */
export type PaymentStreamEvent = { type: 'state'; id: string; data: Payment } | { type: 'transition'; id: string; data: TransitionEvent } | { type: 'shutdown'; id: null; data: PaymentShutdownEvent };
/** What the refund answered: the refund (`pending` when queued, 202) and the payment. */
export type RefundResult = { refund: Refund; payment: Payment };
/** Options of a call that creates something: the Idempotency-Key (a new one when not given; every retry sends the same). */
export type CreateOptions = { idempotencyKey?: string; signal?: AbortSignal };
type CallOptions = { signal?: AbortSignal };

const TERMINAL_EVENTS: ReadonlySet<string> = new Set<TerminalEventType>(['payment.state_changed', 'refund.requested', 'refund.succeeded', 'refund.failed']);

/**
 * A typed client of tenderbridge's terminal API (/v1) for a till, in the browser or in Node 20:
 * fetch only. Retryable failures are retried with the same Idempotency-Key (see ClientOptions).
 * @example
 * const tb = createClient({ baseUrl: 'https://tenderbridge.store.lan:8443', terminalKey: process.env.TB_KEY ?? '' });
 * const payment = await tb.createPayment({ amountMinor: 1995, currency: 'NZD', merchantReference: 'SALE-0001' });
 * const outcome = await tb.waitUntilFinal(payment.id);
 */
export function createClient(options: ClientOptions) {
  const transport = createTransport(options);
  const json = async <T>(res: Promise<Response>): Promise<T> => (await (await res).json()) as T;
  const signalOf = (o: CallOptions | undefined) => ({ signal: o?.signal });
  const getPayment = (id: string, o?: CallOptions) => json<Payment>(transport.send({ operation: 'getPayment', params: { id }, ...signalOf(o) }));
  const waitForChange = (id: string, q: WaitQuery = {}, o?: CallOptions) =>
    json<Payment>(transport.send({ operation: 'getPayment', params: { id }, query: { wait: q.seconds ?? 30, version: q.version }, ...signalOf(o) }));
  const listPaymentsPage = (q: ListPaymentsQuery = {}, o?: CallOptions) => json<PaymentPage>(transport.send({ operation: 'listPayments', query: { ...q }, ...signalOf(o) }));

  // Methods never use `this`: `const { createPayment } = tb` works.
  return {
    /** Who this key is: terminal, store, merchant, display profile (getTerminal). */
    terminal: (o?: CallOptions) => json<Terminal>(transport.send({ operation: 'getTerminal', ...signalOf(o) })),

    /** Creates a payment (createPayment). A replay of the same key and body answers the payment it created. */
    createPayment: (input: CreatePaymentInput, o?: CreateOptions) =>
      json<Payment>(transport.send({ operation: 'createPayment', body: input, idempotencyKey: o?.idempotencyKey ?? newIdempotencyKey(), ...signalOf(o) })),

    /** The payment now (getPayment). */
    getPayment,

    /**
     * One long-poll (getPayment with `wait`): answers when the payment's version passes `version`
     * (default: the current one, or at once when final), else after `seconds` (default 30, at most 60) unchanged.
     */
    waitForChange,

    /** Long-polls until the payment is final (approved, declined, cancelled, expired, failed, ...). */
    async waitUntilFinal(id: string, o?: CallOptions & { secondsPerPoll?: number }): Promise<Payment> {
      let payment = await getPayment(id, o);
      while (!payment.final) payment = await waitForChange(id, { version: payment.version, seconds: o?.secondsPerPoll ?? 30 }, o);
      return payment;
    },

    /** Cancels an open payment (cancelPayment); 409 `already_approved` means the customer paid: refund instead. */
    cancelPayment: (id: string, input: CancelInput = {}, o?: CallOptions) => json<Payment>(transport.send({ operation: 'cancelPayment', params: { id }, body: input, ...signalOf(o) })),

    /**
     * Refunds a paid payment (refundPayment); no amount refunds everything left. A queued refund
     * (202) comes back `pending`: follow it with getRefund. A declined one throws `refund_declined`.
     */
    refundPayment: (id: string, input: RefundInput = {}, o?: CreateOptions) =>
      json<RefundResult>(transport.send({ operation: 'refundPayment', params: { id }, body: input, idempotencyKey: o?.idempotencyKey ?? newIdempotencyKey(), ...signalOf(o) })),

    /** The payment's refunds, oldest first (listPaymentRefunds). */
    paymentRefunds: async (id: string, o?: CallOptions) => (await json<RefundList>(transport.send({ operation: 'listPaymentRefunds', params: { id }, ...signalOf(o) }))).data,

    /** One refund (getRefund): follow a queued one until `succeeded` or `failed`. */
    getRefund: (refundId: string, o?: CallOptions) => json<Refund>(transport.send({ operation: 'getRefund', params: { id: refundId }, ...signalOf(o) })),

    /** One page of the terminal's payments, newest first (listPayments). */
    listPaymentsPage,

    /**
     * Every payment that matches `filters`, newest first, fetching pages of `limit` as the loop reads.
     * @example for await (const p of tb.listPayments({ state: 'approved', created_gte: '2026-11-21T00:00:00+13:00' })) total += p.amountMinor
     */
    async *listPayments(filters: ListPaymentsFilters = {}, o?: CallOptions): AsyncGenerator<Payment> {
      let startingAfter: string | undefined;
      for (;;) {
        const page = await listPaymentsPage({ ...filters, ...(startingAfter === undefined ? {} : { starting_after: startingAfter }) }, o);
        yield* page.data;
        const last = page.data.at(-1);
        if (!page.has_more || !last) return;
        startingAfter = last.id;
      }
    },

    /**
     * Every change of every payment of this terminal (streamTerminalEvents), as long as the loop
     * reads: reconnects with `Last-Event-ID` after a dropped connection or a restart. Give
     * `lastEventId` (the last `id` handled, kept by the till) to get what happened while it was away.
     */
    async *events(o: StreamOptions = {}): AsyncGenerator<TerminalStreamEvent> {
      for await (const m of followEvents(transport, { operation: 'streamTerminalEvents' }, o)) {
        if (m.event === 'shutdown') yield { type: 'shutdown', id: null, data: JSON.parse(m.data) as TerminalShutdownEvent };
        else if (TERMINAL_EVENTS.has(m.event) && m.id !== null) yield { type: m.event as TerminalEventType, id: m.id, data: JSON.parse(m.data) as TerminalEvent };
      }
    },

    /** One payment's changes (streamPaymentEvents): `transition`s missed, then `state` on each change; resumes like events(). */
    async *paymentEvents(id: string, o: StreamOptions = {}): AsyncGenerator<PaymentStreamEvent> {
      for await (const m of followEvents(transport, { operation: 'streamPaymentEvents', params: { id } }, o)) {
        if (m.event === 'shutdown') yield { type: 'shutdown', id: null, data: JSON.parse(m.data) as PaymentShutdownEvent };
        else if (m.event === 'state' && m.id !== null) yield { type: 'state', id: m.id, data: JSON.parse(m.data) as Payment };
        else if (m.event === 'transition' && m.id !== null) yield { type: 'transition', id: m.id, data: JSON.parse(m.data) as TransitionEvent };
      }
    },

    /** The payment's QR image (getPaymentQr), in the terminal's display profile or `overrides`. */
    paymentQrImage: async (id: string, overrides: QrOverrides = {}, o?: CallOptions) => (await transport.send({ operation: 'getPaymentQr', params: { id }, query: { ...overrides }, ...signalOf(o) })).blob(),

    /** The text inside the payment's QR, for a till that draws its own code (getPaymentQrText). */
    paymentQrText: async (id: string, o?: CallOptions) => (await json<QrText>(transport.send({ operation: 'getPaymentQrText', params: { id }, ...signalOf(o) }))).text,

    /** An Electrum QR code issued to this terminal, as an image (getElectrumQr). */
    electrumQrImage: async (tranId: string, overrides: QrOverrides = {}, o?: CallOptions) => (await transport.send({ operation: 'getElectrumQr', params: { tranId }, query: { ...overrides }, ...signalOf(o) })).blob(),
  };
}

/** A client made by {@link createClient}. */
export type TenderbridgeClient = ReturnType<typeof createClient>;
