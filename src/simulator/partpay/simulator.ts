import type { Server } from 'node:http';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { createLogger } from '../../shared/logger.js';
import { createCallbackSender, callbackBody, staleStatus } from './callback-sender.js';
import { apiFaultMiddleware, createPartPayFaults, partpayFaultsSchema, tokenFaultMiddleware, type PartPayFaultsInput } from './faults.js';
import { createOrderStore, type DecideResult, type FinalStatus, type SimOrder, type SimRefundMode } from './order-store.js';
import { partpaySimulatorOptionsSchema, type PartPaySimulatorOptionsInput } from './options.js';
import { createPhoneRoutes, phoneView } from './phone-routes.js';
import { createQrImages } from './qr-images.js';
import { problem } from './responses.js';
import { createTerminalApi } from './terminal-api.js';
import { createTimerSet } from './timers.js';
import { createTokenIssuer } from './token-endpoint.js';
import { closeGracefully, listen } from '../../ops/listeners.js';

/** Counters for tests and the benchmark. */
export interface PartPaySimulatorStats {
  tokensIssued: number;
  ordersCreated: number;
  /** Callbacks acknowledged with a 2xx. */
  callbacksSent: number;
  /** Callbacks abandoned after every attempt failed. */
  callbacksFailed: number;
  /** Delivery attempts made (retries and fault copies included). */
  callbackAttempts: number;
  requests: number;
  /** Authenticated Terminal API calls by operation (`createOrder`, `getOrder`, `cancelOrder`, `refundOrder`). */
  calls: Record<string, number>;
}

/**
 * A stand-in for PartPay over real HTTP: OAuth token endpoint, Terminal API at the
 * configured paths, QR images, a customer-phone page and API, and signed callbacks.
 * Used by the demo, the tests and the benchmark.
 * @example
 * const sim = createPartPaySimulator({ audience: 'https://auth-dev.partpay.co.nz', merchants: [...] });
 * const url = await sim.listen(0, '127.0.0.1'); // adapter: tokenUrl `${url}/oauth/token`, apiBaseUrl `${url}/api`
 */
export function createPartPaySimulator(input: PartPaySimulatorOptionsInput) {
  const options = partpaySimulatorOptionsSchema.parse(input);
  const logger = (options.logger ?? createLogger({ level: 'error', silent: true })).child({ component: 'partpay-simulator' });
  const timers = createTimerSet();
  const store = createOrderStore();
  const qr = createQrImages();
  const faults = createPartPayFaults(options.faults);
  const tokens = createTokenIssuer({
    merchants: options.merchants,
    audience: options.audience,
    ttlSeconds: options.tokenTtlSeconds,
    earlyExpirySeconds: () => (faults.dice.roll('token.earlyExpiry', faults.options.token.earlyExpiry) ? faults.options.token.earlyExpirySeconds : null),
  });
  const callbacks = createCallbackSender({ retry: options.callbackRetry, timers, logger, faults });
  const merchants = new Map(options.merchants.map((m) => [m.merchantId, m]));
  const orderTimers = new Map<string, NodeJS.Timeout[]>();
  let server: Server | null = null;
  let listenUrl: string | null = null;
  let ordersCreated = 0;
  let requests = 0;
  let refundMode: SimRefundMode = 'succeeded';
  const calls: Record<string, number> = {};

  function url(): string {
    if (listenUrl === null) throw new Error('the PartPay simulator is not listening');
    return listenUrl;
  }
  const publicUrl = (): string => (options.publicUrl ?? url()).replace(/\/+$/, '');

  /** Moves a pending order to a final state, stops its timers and sends the callback. */
  function finish(orderId: string, status: FinalStatus): DecideResult {
    const result = store.decide(orderId, status);
    if (!result.ok) return result;
    const order = result.order;
    for (const t of orderTimers.get(orderId) ?? []) timers.cancel(t);
    orderTimers.delete(orderId);
    logger.debug('order decided', { orderId, status });
    const merchant = merchants.get(order.merchantId);
    const destination = order.callbackUrl ?? options.callbackUrl;
    if (merchant && destination !== null) {
      callbacks.send({
        orderId,
        url: destination,
        body: callbackBody(order, merchant.callbackKey),
        forged: callbackBody(order, `${merchant.callbackKey}-wrong`),
        stale: callbackBody(order, merchant.callbackKey, staleStatus(status)),
      });
    }
    return result;
  }

  function onCreated(order: SimOrder): void {
    ordersCreated += 1;
    const handles: NodeJS.Timeout[] = [];
    const expiry = timers.after(options.orderTtlMs, () => finish(order.orderId, 'expired'));
    if (expiry) handles.push(expiry);
    if (options.autoDecideAfterMs !== null) {
      const cents = order.amountCents % 100;
      // Test amounts: .51 declines, .52 is never decided (left to expire), anything else approves.
      if (cents !== 52) {
        const decide = timers.after(options.autoDecideAfterMs, () => finish(order.orderId, cents === 51 ? 'declined' : 'approved'));
        if (decide) handles.push(decide);
      }
    }
    orderTimers.set(order.orderId, handles);
  }

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, _res, next) => {
    requests += 1;
    next();
  });
  // Fault switches for test runs: the whole fault set is replaced (and the dice re-seeded).
  app.get('/admin/faults', (_req, res) => void res.json(faults.view()));
  app.post('/admin/faults', express.json({ limit: '16kb' }), (req, res) => {
    const parsed = partpayFaultsSchema.safeParse(req.body ?? {});
    if (!parsed.success) return problem(res, 400, 'Bad Request', parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
    faults.configure(parsed.data);
    logger.info('faults configured', { faults: parsed.data });
    res.json(faults.view());
  });
  app.post(options.tokenPath, tokenFaultMiddleware(faults), express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' }), tokens.handle);
  app.use(
    options.apiBasePath,
    apiFaultMiddleware(faults, (ms, fn) => timers.after(ms, fn)),
    createTerminalApi({
      protocol: options.protocol,
      store,
      tokens,
      qr,
      merchantFor: (id) => merchants.get(id),
      phoneUrl: (orderId) => `${publicUrl()}/phone/orders/${encodeURIComponent(orderId)}`,
      imageUrl: (orderId) => `${publicUrl()}/qr-images/${encodeURIComponent(orderId)}.jpg`,
      onCreated,
      finish,
      refundMode: () => refundMode,
      onCall: (operation) => {
        calls[operation] = (calls[operation] ?? 0) + 1;
      },
    }),
  );
  app.get('/qr-images/:file', async (req, res) => {
    const orderId = /^(.+)\.jpg$/.exec(req.params.file)?.[1];
    const order = orderId === undefined ? undefined : store.get(orderId);
    if (!order) return problem(res, 404, 'Not Found', 'No such QR image.');
    const jpeg = await qr.jpeg(order.orderId, `${publicUrl()}/phone/orders/${encodeURIComponent(order.orderId)}`);
    res.type('image/jpeg').set('cache-control', 'private, max-age=300').send(jpeg);
  });
  app.use('/phone', createPhoneRoutes({ store, finish }));
  app.use((_req, res) => problem(res, 404, 'Not Found', 'No such route on the PartPay simulator.'));
  // Body-parser errors carry their status; anything else is our bug and a 500.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status >= 500) logger.error('simulator error', { error: err instanceof Error ? err.message : String(err) });
    problem(res, status, status >= 500 ? 'Internal Server Error' : 'Bad Request', err instanceof Error ? err.message : 'request failed');
  });

  function manual(orderId: string, status: FinalStatus): Promise<void> {
    const result = finish(orderId, status);
    if (result.ok) return Promise.resolve();
    return Promise.reject(new Error(result.reason === 'not_found' ? `no order ${orderId}` : `order ${orderId} is already ${result.order?.status ?? 'final'}`));
  }

  return {
    app,
    /** Starts listening (port 0 picks a free one); resolves with the base URL. */
    async listen(port = 0, host = '127.0.0.1'): Promise<string> {
      const started = await listen(app, { host, port });
      server = started.server;
      listenUrl = started.url;
      return listenUrl;
    },
    /** Stops timers, callbacks in flight and the server. */
    async close(): Promise<void> {
      timers.closeAll();
      callbacks.close();
      orderTimers.clear();
      const s = server;
      server = null;
      if (!s) return;
      // Clients' keep-alive connections would otherwise hold close() open: no grace.
      await closeGracefully(s, 0);
    },
    url,
    approve: (orderId: string) => manual(orderId, 'approved'),
    decline: (orderId: string) => manual(orderId, 'declined'),
    expire: (orderId: string) => manual(orderId, 'expired'),
    getOrder: (orderId: string) => {
      const order = store.get(orderId);
      return order ? { ...phoneView(order), callbackUrl: order.callbackUrl, refunds: order.refunds.map((r) => ({ ...r })) } : undefined;
    },
    listOrders: () => store.list().map(phoneView),
    /** Every order with its refunds (chaos suites compare the daemon against this). */
    orders: () => store.list().map((o) => ({ ...phoneView(o), amountCents: o.amountCents, refunds: o.refunds.map((r) => ({ ...r })) })),
    /** Replaces the injected faults (same as `POST /admin/faults`). */
    setFaults: (next: PartPayFaultsInput) => faults.configure(next),
    /** Faults in force and how many of each were injected. */
    faults: () => faults.view(),
    stats: (): PartPaySimulatorStats => ({ tokensIssued: tokens.issued(), ordersCreated, ...callbacks.stats(), requests, calls: { ...calls } }),
    /** How new refunds are answered from now on: at once (default), left pending, or declined (both with a 2xx). */
    setRefundMode: (mode: SimRefundMode) => {
      refundMode = mode;
    },
    /** Settles the refunds left pending; a replayed refund then answers `succeeded`. */
    settlePendingRefunds: () => store.settlePendingRefunds(),
  };
}

export type PartPaySimulator = ReturnType<typeof createPartPaySimulator>;
