import type { PartPayProtocol } from '../../src/partpay/protocol.js';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import type { Peer, PeerAnswer, PeerRequest } from './transport.js';
import type { World } from './world.js';

/** What PartPay's side does by chance, besides the link's faults. */
export interface PartPayPeerFaults {
  /** The customer approves / declines; otherwise the order is never decided and expires. */
  approve: number;
  decline: number;
  /** Longest time before the customer decides (uniform from 0.2 s). */
  decideWithinMs: number;
  /** A callback is never sent (only reconciliation finds the outcome). */
  callbackDrop: number;
  /** A callback is sent twice. */
  callbackDuplicate: number;
  /** The daemon's 200 to a callback is lost on the way back: PartPay sends it again later, and again. */
  callbackAckLost: number;
  /** After the true callback, a stale contradicting one follows (never a false approval). */
  callbackReorder: number;
  /** Refunds answered "pending" (settled a little later) or "declined". */
  refundPending: number;
  refundDeclined: number;
  /** The token endpoint answers 503. */
  tokenError: number;
}

interface Order {
  orderId: string;
  orderNumber: string;
  merchantId: string;
  amountCents: number;
  gatewayReference: string;
  merchantReference: string;
  status: 'pending' | 'approved' | 'declined' | 'cancelled' | 'expired';
  /** The create request's body, to tell a retry from a different order under the same key. */
  body: string;
  refunds: Map<string, { amountCents: number; status: 'succeeded' | 'pending' | 'declined' }>;
}

const ORDER_TTL_MS = 180_000;

/**
 * PartPay as a ledger: OAuth tokens, terminal orders (idempotent per merchant and key), a
 * customer who approves, declines or walks away by chance, signed callbacks (dropped,
 * duplicated, followed by a stale one, delayed and retried), status, cancel, and refunds
 * (idempotent per reference; some left pending, a few declined). It records every misuse it
 * can see: a key or a refund reference reused for different data.
 */
export function createPartPayPeer(world: World, opts: { protocol: PartPayProtocol; merchantId: string; callbackKey: string; faults: () => PartPayPeerFaults }) {
  const { protocol } = opts;
  const f = protocol.fields;
  const orders = new Map<string, Order>();
  const byKey = new Map<string, string>();
  const tokens = new Set<string>();
  /** Orders whose QR reached a till: a customer can only pay what they were shown. */
  const shown = new Set<string>();
  const violations: string[] = [];
  let numbers = 0;
  const rng = world.rng;

  const json = (status: number, body: unknown, headers?: Record<string, string>): PeerAnswer => ({ status, body, ...(headers ? { headers } : {}) });
  const view = (o: Order) => ({ [f.orderId]: o.orderId, [f.orderNumber]: o.orderNumber, [f.orderStatus]: o.status });
  const pattern = (template: string) => new RegExp(`^${template.split('{orderId}').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('([^/]+)')}$`);
  const routes = {
    create: pattern(`/api${protocol.paths.createOrder}`),
    status: pattern(`/api${protocol.paths.orderStatus}`),
    cancel: pattern(`/api${protocol.paths.cancelOrder}`),
    refund: pattern(`/api${protocol.paths.refundOrder}`),
  };

  function sendCallback(o: Order, status: Order['status'], attempt = 1): void {
    // The store's uplink is down: the callback does not get through; PartPay tries again later.
    if (world.uplinkDown()) {
      world.trace(`partpay: callback ${o.orderId.slice(0, 8)} ${status} could not connect`);
      if (attempt < 5) world.after(5_000 * 2 ** attempt, () => sendCallback(o, status, attempt + 1));
      return;
    }
    const body = buildSignedCallbackBody(
      [
        ['orderId', o.orderId],
        ['orderNumber', o.orderNumber],
        ['orderStatus', status],
        ['gatewayReference', o.gatewayReference],
        ['merchantReference', o.merchantReference],
      ],
      opts.callbackKey,
    );
    void world.request('POST', '/partpay/callback', { 'content-type': 'application/x-www-form-urlencoded' }, body, { remoteAddress: '203.0.113.10' }).then((res) => {
      const lost = res.status === 200 && rng.chance('partpay.callback.ackLost', opts.faults().callbackAckLost);
      world.trace(`partpay: callback ${o.orderId.slice(0, 8)} ${status} -> ${res.status}${lost ? ' (acknowledgement lost)' : ''}`);
      // PartPay retries what it did not see acknowledged (the daemon down or refusing, or the 200 lost).
      if ((res.status !== 200 || lost) && attempt < 5) world.after(5_000 * 2 ** attempt, () => sendCallback(o, status, attempt + 1));
    });
  }

  function decided(o: Order): void {
    const faults = opts.faults();
    if (rng.chance('partpay.callback.drop', faults.callbackDrop)) return void world.trace(`partpay: callback for ${o.orderId.slice(0, 8)} dropped`);
    world.after(rng.int('partpay.callback.delay', 5, 2_000), () => {
      sendCallback(o, o.status);
      if (rng.chance('partpay.callback.duplicate', faults.callbackDuplicate)) world.after(rng.int('partpay.callback.delay', 0, 500), () => sendCallback(o, o.status));
      if (rng.chance('partpay.callback.reorder', faults.callbackReorder)) {
        const stale = o.status === 'approved' ? 'declined' : o.status === 'declined' ? 'cancelled' : 'declined';
        world.after(rng.int('partpay.callback.delay', 50, 1_000), () => sendCallback(o, stale));
      }
    });
  }

  /** The customer's decision, once they can see the code (an order whose create answer was lost is never shown). */
  function customer(o: Order, status: 'approved' | 'declined'): void {
    if (o.status !== 'pending') return;
    if (!shown.has(o.orderId)) return void world.after(1_000, () => customer(o, status));
    finish(o, status);
  }

  function finish(o: Order, status: Exclude<Order['status'], 'pending'>): void {
    if (o.status !== 'pending') return;
    o.status = status;
    world.trace(`partpay: order ${o.orderId.slice(0, 8)} ${status}`);
    decided(o);
  }

  function create(req: PeerRequest): PeerAnswer {
    const body = JSON.parse(req.body || '{}') as Record<string, unknown>;
    const key = protocol.idempotencyHeader ? req.headers[protocol.idempotencyHeader.toLowerCase()] : undefined;
    const seen = key ? byKey.get(key) : undefined;
    if (seen) {
      const o = orders.get(seen) as Order;
      if (o.body !== req.body) {
        violations.push(`create key ${key} reused with a different body`);
        return json(422, { title: 'Idempotency key reused' });
      }
      return json(200, { ...view(o), [f.qrImageUrl]: `https://partpay.sim/qr/${o.orderId}.jpg` });
    }
    const amount = Number(body[f.amount]);
    numbers += 1;
    const o: Order = {
      orderId: rng.uuid('partpay.order'),
      orderNumber: `260302-${String(numbers).padStart(6, '0')}`,
      merchantId: opts.merchantId,
      amountCents: Math.round(amount * 100),
      gatewayReference: String(body['gatewayReference']),
      merchantReference: String(body['merchantReference']),
      status: 'pending',
      body: req.body,
      refunds: new Map(),
    };
    orders.set(o.orderId, o);
    if (key) byKey.set(key, o.orderId);
    const faults = opts.faults();
    const roll = rng.next('partpay.customer');
    const after = rng.int('partpay.customer.delay', 200, faults.decideWithinMs);
    if (roll < faults.approve) world.after(after, () => customer(o, 'approved'));
    else if (roll < faults.approve + faults.decline) world.after(after, () => customer(o, 'declined'));
    world.after(ORDER_TTL_MS, () => finish(o, 'expired'));
    return json(201, { ...view(o), [f.qrImageUrl]: `https://partpay.sim/qr/${o.orderId}.jpg` });
  }

  function refund(o: Order, req: PeerRequest): PeerAnswer {
    const body = JSON.parse(req.body || '{}') as { amount?: number; merchantRefundReference?: string };
    const cents = Math.round(Number(body.amount) * 100);
    const reference = String(body.merchantRefundReference);
    const previous = o.refunds.get(reference);
    if (previous) {
      if (previous.amountCents !== cents) {
        violations.push(`refund reference ${reference} reused with ${cents} after ${previous.amountCents}`);
        return json(409, { title: 'Conflict', detail: 'reference reused with a different amount' });
      }
      return json(200, { refundId: `rf-${reference}`, status: previous.status, amount: previous.amountCents / 100 });
    }
    if (o.status !== 'approved') return json(409, { title: 'Conflict', detail: `order is ${o.status}` });
    const refunded = [...o.refunds.values()].filter((r) => r.status !== 'declined').reduce((a, r) => a + r.amountCents, 0);
    if (cents <= 0 || cents > o.amountCents - refunded) return json(400, { message: 'The refund exceeds the refundable amount', isValid: false, errors: [{ propertyName: 'amount', errorMessages: ['too much'] }] });
    const faults = opts.faults();
    const status = rng.chance('partpay.refund.declined', faults.refundDeclined) ? 'declined' : rng.chance('partpay.refund.pending', faults.refundPending) ? 'pending' : 'succeeded';
    const entry = { amountCents: cents, status: status as 'succeeded' | 'pending' | 'declined' };
    o.refunds.set(reference, entry);
    if (status === 'pending') world.after(rng.int('partpay.refund.settle', 1_000, 20_000), () => void (entry.status = 'succeeded'));
    world.trace(`partpay: refund ${cents} on ${o.orderId.slice(0, 8)} ${status}`);
    return json(status === 'pending' ? 202 : 201, { refundId: `rf-${reference}`, status, amount: cents / 100 });
  }

  const peer: Peer = {
    handle(req) {
      if (req.path === '/oauth/token') {
        if (rng.chance('partpay.token.error', opts.faults().tokenError)) return json(503, { error: 'temporarily_unavailable' });
        const token = `tok-${rng.uuid('partpay.token')}`;
        tokens.add(token);
        return json(200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers['authorization'] ?? '')?.[1];
      if (!bearer || !tokens.has(bearer)) return json(401, { title: 'Unauthorized' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      if (req.headers[protocol.merchantIdHeader.toLowerCase()] !== opts.merchantId) return json(403, { title: 'Forbidden' });
      if (req.method === 'POST' && routes.create.test(req.path)) return create(req);
      const id = decodeURIComponent(routes.cancel.exec(req.path)?.[1] ?? routes.refund.exec(req.path)?.[1] ?? routes.status.exec(req.path)?.[1] ?? '');
      const o = orders.get(id);
      if (!o) return json(404, { title: 'Not Found' });
      if (req.method === 'GET' && routes.status.test(req.path)) return json(200, view(o));
      if (req.method === 'POST' && routes.cancel.test(req.path)) {
        finish(o, 'cancelled');
        return o.status === 'cancelled' ? json(200, view(o)) : json(409, { title: 'Conflict', detail: `Order ${o.orderId} is ${o.status}` });
      }
      if (req.method === 'POST' && routes.refund.test(req.path)) return refund(o, req);
      return json(404, { title: 'Not Found' });
    },
  };

  return {
    peer,
    violations,
    /** The customer approves now, if the order is still open (racing a till's cancel). */
    approveNow(orderId: string): void {
      const o = orders.get(orderId);
      if (o) customer(o, 'approved');
    },
    /** A till shows the order's QR to the customer. */
    show: (orderId: string): void => void shown.add(orderId),
    orders: (): Order[] => [...orders.values()],
    /** What PartPay holds as taken from the customer for an order. */
    settled(o: Order): number {
      if (o.status !== 'approved') return 0;
      return o.amountCents - [...o.refunds.values()].filter((r) => r.status === 'succeeded').reduce((a, r) => a + r.amountCents, 0);
    },
    /** Refunds still pending at PartPay (they settle by themselves). */
    pendingRefunds: (): number => [...orders.values()].reduce((n, o) => n + [...o.refunds.values()].filter((r) => r.status === 'pending').length, 0),
  };
}

export type PartPayPeer = ReturnType<typeof createPartPayPeer>;
