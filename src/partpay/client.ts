import type { z } from 'zod';
import { UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { toMajorUnits } from '../shared/money.js';
import { orderPath, type PartPayProtocol } from './protocol.js';
import { createPartPayRequester, type RequesterOptions } from './request.js';
import { createResponseSchemas } from './response-schemas.js';
import type { TokenManager } from './token-manager.js';
import type { CreateOrderRequest, CreatedOrder, MerchantCredentials, OrderStatus, PartPayQr, RefundRequest } from './types.js';

export interface PartPayClientOptions {
  /** Terminal API base URL, e.g. `https://api.partpay.co.nz` or the simulator's `${url}/api`. */
  apiBaseUrl: string;
  protocol: PartPayProtocol;
  /** Our callback URL sent with each order (when the protocol has that field); null to omit. */
  callbackUrl: string | null;
  /** Timeout of one attempt. */
  timeoutMs: number;
  /** `attempts` counts the first try; delays double from `initialDelayMs`. */
  retries: { attempts: number; initialDelayMs: number };
  tokens: Pick<TokenManager, 'getToken' | 'invalidate'>;
  logger: Logger;
  /** Told about every attempt (metrics). */
  observe?: RequesterOptions['observe'];
  /** Awaited before each call (the daemon's group commit). */
  beforeSend?: RequesterOptions['beforeSend'];
  /** Where calls go (default: a keep-alive pool of its own). */
  dispatcher?: RequesterOptions['dispatcher'];
}

/**
 * The PartPay Terminal API adapter: create, status, cancel and refund of terminal orders on
 * behalf of a merchant. Every failure comes out as an {@link UpstreamError}.
 * @example
 * const partpay = createPartPayClient({ apiBaseUrl, protocol, callbackUrl, timeoutMs: 10000, retries: { attempts: 3, initialDelayMs: 200 }, tokens, logger });
 * const order = await partpay.createOrder(merchant, { paymentId, merchantReference, amountMinor: 1050, currency: 'NZD', idempotencyKey: paymentId });
 */
export function createPartPayClient(options: PartPayClientOptions) {
  const { protocol } = options;
  const fields = protocol.fields;
  const schemas = createResponseSchemas(protocol);
  const requester = createPartPayRequester(options);
  // Relative QR URLs resolve below the API base, treated as a folder.
  const qrBase = options.apiBaseUrl.endsWith('/') ? options.apiBaseUrl : `${options.apiBaseUrl}/`;

  function parse<S extends z.ZodType>(schema: S, operation: string, text: string, status: number): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new UpstreamError('upstream_invalid_response', `PartPay ${operation} answered ${status} with a body that is not JSON`, {
        cause,
        retryable: false,
        upstreamStatus: status,
      });
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      throw new UpstreamError('upstream_invalid_response', `PartPay ${operation} answered ${status} with an unexpected body: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
        cause: result.error,
        retryable: false,
        upstreamStatus: status,
      });
    }
    return result.data;
  }

  function toQr(qrBase64: string | null, qrUrl: string | null, status: number): PartPayQr {
    // Prefer the inline image: it needs no second request while the customer waits.
    if (qrBase64 !== null) return { kind: 'base64', data: qrBase64 };
    if (qrUrl !== null) {
      let url: URL;
      try {
        url = new URL(qrUrl, qrBase);
      } catch (cause) {
        throw new UpstreamError('upstream_invalid_response', `PartPay createOrder sent an unusable QR URL`, { cause, retryable: false, upstreamStatus: status });
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new UpstreamError('upstream_invalid_response', `PartPay createOrder sent a QR URL with scheme ${url.protocol}`, { retryable: false, upstreamStatus: status });
      }
      return { kind: 'url', url: url.href };
    }
    throw new UpstreamError('upstream_invalid_response', `PartPay createOrder answered without "${fields.qrImageBase64}" or "${fields.qrImageUrl}"`, {
      retryable: false,
      upstreamStatus: status,
    });
  }

  /**
   * Creates a terminal order. Retries carry the same idempotency key, so PartPay answers a
   * repeated create with the first order.
   * @throws UpstreamError
   */
  async function createOrder(merchant: MerchantCredentials, req: CreateOrderRequest): Promise<CreatedOrder> {
    const body: Record<string, unknown> = {
      [fields.amount]: toMajorUnits(req.amountMinor, req.currency),
      gatewayReference: req.paymentId,
      merchantReference: req.merchantReference,
    };
    if (fields.currency !== null) body[fields.currency] = req.currency;
    if (fields.callbackUrl !== null && options.callbackUrl !== null) body[fields.callbackUrl] = options.callbackUrl;
    const { status, text } = await requester.send(merchant, {
      operation: 'createOrder',
      method: 'POST',
      path: protocol.paths.createOrder,
      body,
      idempotencyKey: req.idempotencyKey,
    });
    const order = parse(schemas.createdOrder, 'createOrder', text, status);
    return { orderId: order.orderId, orderNumber: order.orderNumber, status: order.status, qr: toQr(order.qrBase64, order.qrUrl, status) };
  }

  /**
   * Asks PartPay for an order's current status (used when a callback is overdue).
   * @throws UpstreamError
   */
  async function getOrder(merchant: MerchantCredentials, orderId: string): Promise<OrderStatus> {
    const { status, text } = await requester.send(merchant, { operation: 'getOrder', method: 'GET', path: orderPath(protocol.paths.orderStatus, orderId) });
    return parse(schemas.orderStatus, 'getOrder', text, status);
  }

  /**
   * Cancels an order the customer has not completed. PartPay answers 409 (upstream_rejected)
   * when the order is already final.
   * @throws UpstreamError
   */
  async function cancelOrder(merchant: MerchantCredentials, orderId: string, idempotencyKey: string): Promise<OrderStatus> {
    const { status, text } = await requester.send(merchant, {
      operation: 'cancelOrder',
      method: 'POST',
      path: orderPath(protocol.paths.cancelOrder, orderId),
      body: {},
      idempotencyKey,
    });
    return parse(schemas.orderStatus, 'cancelOrder', text, status);
  }

  /**
   * Refunds all or part of an approved order; `req.reference` doubles as the idempotency key.
   * @throws UpstreamError
   */
  async function refundOrder(merchant: MerchantCredentials, orderId: string, req: RefundRequest): Promise<{ refundId: string | null; status: string | null }> {
    const { status, text } = await requester.send(merchant, {
      operation: 'refundOrder',
      method: 'POST',
      path: orderPath(protocol.paths.refundOrder, orderId),
      body: { amount: toMajorUnits(req.amountMinor, req.currency), merchantRefundReference: req.reference },
      idempotencyKey: req.reference,
    });
    return parse(schemas.refund, 'refundOrder', text, status);
  }

  return { createOrder, getOrder, cancelOrder, refundOrder };
}

/** The PartPay Terminal API adapter. */
export type PartPayClient = ReturnType<typeof createPartPayClient>;
