import express from 'express';
import { centsToAmount, type DecideResult, type FinalStatus, type OrderStore, type SimOrder } from './order-store.js';
import { phoneListPage, phoneOrderPage } from './phone-page.js';
import { problem } from './responses.js';

export interface PhoneRoutesDeps {
  store: OrderStore;
  finish: (orderId: string, status: FinalStatus) => DecideResult;
}

/** What the phone pages and API show of an order. */
export function phoneView(order: SimOrder) {
  return {
    orderId: order.orderId,
    orderNumber: order.orderNumber,
    merchantId: order.merchantId,
    status: order.status,
    amount: centsToAmount(order.amountCents),
    currency: order.currency,
    gatewayReference: order.gatewayReference,
    merchantReference: order.merchantReference,
    createdAt: new Date(order.createdAt).toISOString(),
  };
}

/** The customer phone: HTML pages and the JSON API behind their buttons (mounted at /phone). */
export function createPhoneRoutes(deps: PhoneRoutesDeps): express.Router {
  const router = express.Router();
  // Pages are built with the mount path so they keep working when the simulator app is mounted under a prefix.
  const apiBase = (req: express.Request) => `${req.baseUrl}/api`;

  router.get('/', (req, res) => {
    res.type('html').set('cache-control', 'no-store').send(phoneListPage(apiBase(req)));
  });

  router.get('/orders/:orderId', (req, res) => {
    const known = deps.store.get(req.params.orderId) !== undefined;
    res.status(known ? 200 : 404).type('html').set('cache-control', 'no-store').send(phoneOrderPage(apiBase(req), req.params.orderId));
  });

  router.get('/api/orders', (req, res) => {
    const wanted = typeof req.query['status'] === 'string' ? req.query['status'] : null;
    const orders = deps.store
      .list()
      .filter((o) => wanted === null || o.status === wanted)
      .slice(-100)
      .reverse()
      .map(phoneView);
    res.json({ orders });
  });

  router.get('/api/orders/:orderId', (req, res) => {
    const order = deps.store.get(req.params.orderId);
    if (!order) return problem(res, 404, 'Not Found', `No order ${req.params.orderId}.`);
    res.json(phoneView(order));
  });

  for (const [action, status] of [['approve', 'approved'], ['decline', 'declined']] as const) {
    router.post(`/api/orders/:orderId/${action}`, (req, res) => {
      const result = deps.finish(req.params.orderId, status);
      if (result.ok) return void res.json(phoneView(result.order));
      if (result.reason === 'not_found') return problem(res, 404, 'Not Found', `No order ${req.params.orderId}.`);
      problem(res, 409, 'Conflict', `Order ${req.params.orderId} is already ${result.order?.status ?? 'final'}.`);
    });
  }
  return router;
}
