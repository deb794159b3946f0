import { randomUUID } from 'node:crypto';

export type SimOrderStatus = 'pending' | 'approved' | 'declined' | 'cancelled' | 'expired';
export type FinalStatus = Exclude<SimOrderStatus, 'pending'>;

/** How the simulator answers refunds: done at once (the default), left pending, or declined. */
export type SimRefundMode = 'succeeded' | 'pending' | 'declined';

export interface SimRefund {
  refundId: string;
  reference: string;
  amountCents: number;
  /** `pending` refunds settle with `settlePendingRefunds()`; `declined` ones never moved money. */
  status: SimRefundMode;
  createdAt: number;
}

/** A simulated terminal order. Amounts are integer cents: PartPay NZ speaks 2-decimal NZD. */
export interface SimOrder {
  orderId: string;
  orderNumber: string;
  merchantId: string;
  amountCents: number;
  gatewayReference: string;
  merchantReference: string;
  currency: string | null;
  callbackUrl: string | null;
  status: SimOrderStatus;
  createdAt: number;
  decidedAt: number | null;
  refunds: SimRefund[];
}

export interface NewOrder {
  merchantId: string;
  amountCents: number;
  gatewayReference: string;
  merchantReference: string;
  currency: string | null;
  callbackUrl: string | null;
  idempotencyKey: string | null;
}

export type CreateResult = { kind: 'created'; order: SimOrder } | { kind: 'replayed'; order: SimOrder } | { kind: 'mismatch'; order: SimOrder };
export type DecideResult = { ok: true; order: SimOrder } | { ok: false; reason: 'not_found' | 'not_pending'; order: SimOrder | null };
export type RefundResult =
  | { kind: 'created' | 'replayed'; refund: SimRefund }
  | { kind: 'not_found' | 'not_approved' | 'exceeds' | 'reference_mismatch'; refund: null; remainingCents: number };

/** Orders kept in memory; the oldest final ones are forgotten beyond this many. */
const MAX_ORDERS = 50_000;

/**
 * In-memory orders of the simulator: creation (idempotent per merchant and key), the
 * pending → final transition, and refunds (idempotent per reference, never above the amount).
 * Synchronous on purpose: concurrent requests with one idempotency key cannot both create.
 */
export function createOrderStore(now: () => number = Date.now) {
  const orders = new Map<string, SimOrder>();
  const byIdempotencyKey = new Map<string, string>();
  let sequence = 0;

  function orderNumber(): string {
    const d = new Date(now());
    const yymmdd = `${String(d.getUTCFullYear() % 100).padStart(2, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
    sequence = (sequence + 1) % 1_000_000;
    return `${yymmdd}-${String(sequence).padStart(6, '0')}`;
  }

  function create(input: NewOrder): CreateResult {
    const idemKey = input.idempotencyKey === null ? null : `${input.merchantId}\u0000${input.idempotencyKey}`;
    const existingId = idemKey === null ? undefined : byIdempotencyKey.get(idemKey);
    const existing = existingId === undefined ? undefined : orders.get(existingId);
    if (existing) {
      const same = existing.amountCents === input.amountCents && existing.gatewayReference === input.gatewayReference && existing.merchantReference === input.merchantReference;
      return { kind: same ? 'replayed' : 'mismatch', order: existing };
    }
    const order: SimOrder = {
      orderId: randomUUID(),
      orderNumber: orderNumber(),
      merchantId: input.merchantId,
      amountCents: input.amountCents,
      gatewayReference: input.gatewayReference,
      merchantReference: input.merchantReference,
      currency: input.currency,
      callbackUrl: input.callbackUrl,
      status: 'pending',
      createdAt: now(),
      decidedAt: null,
      refunds: [],
    };
    orders.set(order.orderId, order);
    if (idemKey !== null) byIdempotencyKey.set(idemKey, order.orderId);
    prune();
    return { kind: 'created', order };
  }

  /** Keeps memory bounded in long benchmark runs; pending orders are never dropped. */
  function prune(): void {
    if (orders.size <= MAX_ORDERS) return;
    for (const [id, o] of orders) {
      if (orders.size <= MAX_ORDERS) break;
      if (o.status !== 'pending') orders.delete(id);
    }
  }

  function decide(orderId: string, status: FinalStatus): DecideResult {
    const order = orders.get(orderId);
    if (!order) return { ok: false, reason: 'not_found', order: null };
    if (order.status !== 'pending') return { ok: false, reason: 'not_pending', order };
    order.status = status;
    order.decidedAt = now();
    return { ok: true, order };
  }

  function refund(orderId: string, amountCents: number, reference: string, mode: SimRefundMode = 'succeeded'): RefundResult {
    const order = orders.get(orderId);
    if (!order) return { kind: 'not_found', refund: null, remainingCents: 0 };
    const refunded = order.refunds.reduce((sum, r) => sum + (r.status === 'declined' ? 0 : r.amountCents), 0);
    const remainingCents = order.amountCents - refunded;
    const previous = order.refunds.find((r) => r.reference === reference);
    if (previous) {
      return previous.amountCents === amountCents ? { kind: 'replayed', refund: previous } : { kind: 'reference_mismatch', refund: null, remainingCents };
    }
    if (order.status !== 'approved') return { kind: 'not_approved', refund: null, remainingCents };
    if (amountCents > remainingCents) return { kind: 'exceeds', refund: null, remainingCents };
    const created: SimRefund = { refundId: randomUUID(), reference, amountCents, status: mode, createdAt: now() };
    order.refunds.push(created);
    return { kind: 'created', refund: created };
  }

  /** Settles every pending refund (PartPay finished processing them); returns how many. */
  function settlePendingRefunds(): number {
    let settled = 0;
    for (const order of orders.values()) {
      for (const r of order.refunds) {
        if (r.status !== 'pending') continue;
        r.status = 'succeeded';
        settled += 1;
      }
    }
    return settled;
  }

  return {
    create,
    decide,
    refund,
    settlePendingRefunds,
    get: (orderId: string): SimOrder | undefined => orders.get(orderId),
    list: (): SimOrder[] => [...orders.values()],
    get size() {
      return orders.size;
    },
  };
}

export type OrderStore = ReturnType<typeof createOrderStore>;

/** Major units as PartPay sends them (e.g. 10.5 for 1050 cents). */
export function centsToAmount(cents: number): number {
  return Number((cents / 100).toFixed(2));
}
