import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { PartPayProtocol } from '../../partpay/protocol.js';
import { centsToAmount, type DecideResult, type FinalStatus, type OrderStore, type SimOrder, type SimRefundMode } from './order-store.js';
import type { SimulatedMerchant } from './options.js';
import type { QrImages } from './qr-images.js';
import { checkAmount, checkReference, createErrorCollector, problem, validationFailed } from './responses.js';
import type { TokenIssuer } from './token-endpoint.js';

export interface TerminalApiDeps {
  protocol: PartPayProtocol;
  store: OrderStore;
  tokens: TokenIssuer;
  qr: QrImages;
  merchantFor: (merchantId: string) => SimulatedMerchant | undefined;
  /** Text encoded in an order's QR (the customer-phone URL). */
  phoneUrl: (orderId: string) => string;
  imageUrl: (orderId: string) => string;
  onCreated: (order: SimOrder) => void;
  finish: (orderId: string, status: FinalStatus) => DecideResult;
  /** How new refunds are answered (tests switch it at run time). */
  refundMode: () => SimRefundMode;
  /** Told of every authenticated call by operation name (`createOrder`, `refundOrder`, ...). */
  onCall: (operation: string) => void;
}

type Handler = (req: Request, res: Response, merchant: SimulatedMerchant, orderId: string | null) => void | Promise<void>;

/**
 * Turns a configured path template into a matcher. Paths are configuration, so they are
 * matched literally rather than handed to Express's route syntax, where characters such as
 * `(`, `*` or `:` would mean something.
 */
function compile(template: string): RegExp {
  const parts = template.split('{orderId}').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('([^/]+)')}/?$`);
}

/** Express router for the Terminal API at the protocol's paths (mounted at apiBasePath). */
export function createTerminalApi(deps: TerminalApiDeps): express.Router {
  const f = deps.protocol.fields;
  const router = express.Router();

  function view(order: SimOrder): Record<string, unknown> {
    return {
      [f.orderId]: order.orderId,
      [f.orderNumber]: order.orderNumber,
      [f.orderStatus]: order.status,
      amount: centsToAmount(order.amountCents),
      gatewayReference: order.gatewayReference,
      merchantReference: order.merchantReference,
    };
  }

  const createOrder: Handler = async (req, res, merchant) => {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const errors = createErrorCollector();
    const amountCents = checkAmount(body[f.amount], f.amount, errors);
    const gatewayReference = checkReference(body['gatewayReference'], 'gatewayReference', errors);
    const merchantReference = checkReference(body['merchantReference'], 'merchantReference', errors);
    const currency = f.currency === null ? undefined : body[f.currency];
    if (currency !== undefined && (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))) errors.add(f.currency as string, 'must be an ISO 4217 code.');
    const callbackUrl = f.callbackUrl === null ? undefined : body[f.callbackUrl];
    if (callbackUrl !== undefined && callbackUrl !== null && (typeof callbackUrl !== 'string' || !URL.canParse(callbackUrl))) {
      errors.add(f.callbackUrl as string, 'must be an absolute URL.');
    }
    if (errors.errors.length > 0 || amountCents === null || gatewayReference === null || merchantReference === null) return validationFailed(res, errors.errors);
    const idempotencyKey = deps.protocol.idempotencyHeader === null ? undefined : req.get(deps.protocol.idempotencyHeader);
    const result = deps.store.create({
      merchantId: merchant.merchantId,
      amountCents,
      gatewayReference,
      merchantReference,
      currency: typeof currency === 'string' ? currency : null,
      callbackUrl: typeof callbackUrl === 'string' ? callbackUrl : null,
      idempotencyKey: idempotencyKey ?? null,
    });
    if (result.kind === 'mismatch') {
      return problem(res, 422, 'Idempotency key reused', 'This idempotency key was used for a different order request.');
    }
    if (result.kind === 'created') deps.onCreated(result.order);
    const order = result.order;
    const answer: Record<string, unknown> = { [f.orderId]: order.orderId, [f.orderNumber]: order.orderNumber, [f.orderStatus]: order.status };
    if (merchant.qrDelivery === 'url') {
      answer[f.qrImageUrl] = deps.imageUrl(order.orderId);
    } else {
      const jpeg = (await deps.qr.jpeg(order.orderId, deps.phoneUrl(order.orderId))).toString('base64');
      answer[f.qrImageBase64] = merchant.qrDelivery === 'data-uri' ? `data:image/jpeg;base64,${jpeg}` : jpeg;
    }
    res.status(result.kind === 'created' ? 201 : 200).json(answer);
  };

  function owned(res: Response, merchant: SimulatedMerchant, orderId: string | null): SimOrder | null {
    const order = orderId === null ? undefined : deps.store.get(orderId);
    // Another merchant's order is as invisible as a missing one.
    if (!order || order.merchantId !== merchant.merchantId) {
      problem(res, 404, 'Not Found', `No order ${orderId ?? ''} for this merchant.`);
      return null;
    }
    return order;
  }

  const getOrder: Handler = (_req, res, merchant, orderId) => {
    const order = owned(res, merchant, orderId);
    if (order) res.json(view(order));
  };

  const cancelOrder: Handler = (_req, res, merchant, orderId) => {
    const order = owned(res, merchant, orderId);
    if (!order) return;
    if (order.status === 'pending') deps.finish(order.orderId, 'cancelled');
    if (order.status === 'cancelled') return void res.json(view(order));
    problem(res, 409, 'Conflict', `Order ${order.orderId} cannot be cancelled because it is ${order.status}.`);
  };

  const refundOrder: Handler = (req, res, merchant, orderId) => {
    const order = owned(res, merchant, orderId);
    if (!order) return;
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const errors = createErrorCollector();
    const cents = checkAmount(body['amount'], 'amount', errors);
    const reference = checkReference(body['merchantRefundReference'], 'merchantRefundReference', errors);
    if (cents === null || reference === null) return validationFailed(res, errors.errors);
    const result = deps.store.refund(order.orderId, cents, reference, deps.refundMode());
    switch (result.kind) {
      case 'created':
      case 'replayed':
        // A replay answers with the refund's status now (a pending one may have settled since).
        return void res
          .status(result.kind === 'created' ? (result.refund.status === 'pending' ? 202 : 201) : 200)
          .json({ refundId: result.refund.refundId, status: result.refund.status, amount: centsToAmount(result.refund.amountCents) });
      case 'not_approved':
        return problem(res, 409, 'Conflict', `Order ${order.orderId} cannot be refunded because it is ${order.status}.`);
      case 'reference_mismatch':
        return problem(res, 409, 'Conflict', `Refund reference ${reference} was already used with a different amount.`);
      case 'exceeds':
        return validationFailed(res, [{ propertyName: 'amount', errorMessages: [`The refund exceeds the refundable amount of ${centsToAmount(result.remainingCents)}.`] }]);
      default:
        return problem(res, 404, 'Not Found', `No order ${order.orderId}.`);
    }
  };

  const routes: Array<{ method: string; pattern: RegExp; handler: Handler; name: string }> = [
    { method: 'POST', pattern: compile(deps.protocol.paths.createOrder), handler: createOrder, name: 'createOrder' },
    { method: 'POST', pattern: compile(deps.protocol.paths.cancelOrder), handler: cancelOrder, name: 'cancelOrder' },
    { method: 'POST', pattern: compile(deps.protocol.paths.refundOrder), handler: refundOrder, name: 'refundOrder' },
    { method: 'GET', pattern: compile(deps.protocol.paths.orderStatus), handler: getOrder, name: 'getOrder' },
  ];

  router.use(express.json({ limit: '64kb' }));
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const route = routes.find((r) => r.method === req.method && r.pattern.test(req.path));
    if (!route) return next();
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const merchant = bearer === undefined ? null : deps.tokens.verify(bearer);
    if (!merchant) {
      res.set('www-authenticate', 'Bearer error="invalid_token"');
      return problem(res, 401, 'Unauthorized', 'A valid, unexpired bearer token is required.');
    }
    const claimed = req.get(deps.protocol.merchantIdHeader);
    if (claimed !== merchant.merchantId || !deps.merchantFor(claimed)) {
      return problem(res, 403, 'Forbidden', `The ${deps.protocol.merchantIdHeader} header does not match the merchant of this token.`);
    }
    deps.onCall(route.name);
    const raw = route.pattern.exec(req.path)?.[1];
    await route.handler(req, res, merchant, raw === undefined ? null : decodeURIComponent(raw));
  });
  return router;
}
