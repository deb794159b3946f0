import express, { type Router } from 'express';
import type { Applier } from '../payments/apply.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { Port } from '../storage/port.js';
import type { Payment } from '../payments/types.js';
import type { RegistryView } from '../registry/registry.js';
import { AuthenticationError, UnsupportedMediaTypeError, ValidationError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { verifyCallbackBody } from './signature.js';
import { orderOutcome } from './status.js';
import { sourceAllowlist } from '../shared/http/security.js';

export interface CallbackDeps {
  registry: RegistryView;
  payments: Port<PaymentRepository>;
  applier: Applier;
  logger: Logger;
  clock: () => number;
  /** Source addresses/CIDRs allowed to post callbacks; empty = any. */
  allowSources?: readonly string[];
  /** Observers for metrics: outcome of each callback. */
  onCallback?: (outcome: 'applied' | 'duplicate' | 'orphan' | 'mismatch' | 'rejected_signature' | 'malformed', payment: Payment | null) => void;
}

const FIELD = /^[\x20-\x7E]{1,128}$/;

/**
 * The references of a signed callback that contradict the payment its orderId found: our
 * payment id (sent as `gatewayReference`) and the terminal's `merchantReference`, both echoed
 * by PartPay. A field left out is no contradiction; a different value is.
 * @example referenceMismatch({ id: 'p1', merchantReference: 'R-1' }, new URLSearchParams('gatewayReference=p2')) // ['gatewayReference']
 */
export function referenceMismatch(payment: Pick<Payment, 'id' | 'merchantReference'>, fields: URLSearchParams): string[] {
  const expected: Array<[string, string]> = [
    ['gatewayReference', payment.id],
    ['merchantReference', payment.merchantReference],
  ];
  return expected.filter(([name, value]) => fields.has(name) && fields.get(name) !== value).map(([name]) => name);
}

/**
 * `POST /partpay/callback`: PartPay's signed, form-encoded notice that an order reached a
 * final state. The body is kept as raw text because the signature covers the exact bytes
 * sent; fields are parsed only to find the payment. Answers 200 only after the event is
 * committed; a bad signature changes nothing and gets 401.
 */
export function partpayCallbackRoutes(deps: CallbackDeps): Router {
  const router = express.Router();
  router.post(
    '/partpay/callback',
    sourceAllowlist(deps.allowSources ?? [], 'a PartPay callback'),
    (req, _res, next) => {
      if (!req.is('application/x-www-form-urlencoded')) throw new UnsupportedMediaTypeError('callback must be application/x-www-form-urlencoded');
      next();
    },
    express.text({ type: 'application/x-www-form-urlencoded', limit: '16kb', defaultCharset: 'utf-8' }),
    async (req, res) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const fields = new URLSearchParams(raw);
      const orderId = fields.get('orderId');
      const orderStatus = fields.get('orderStatus');
      const gatewayReference = fields.get('gatewayReference');
      if (!orderId || !FIELD.test(orderId) || !orderStatus || !FIELD.test(orderStatus)) {
        deps.onCallback?.('malformed', null);
        throw new ValidationError('callback must carry orderId and orderStatus', { details: { fields: [...new Set(fields.keys())].slice(0, 10) } });
      }
      // Find the payment: by PartPay's order id, else by our id echoed as gatewayReference
      // (the callback may beat our own record of the create response). Only a PartPay payment:
      // a callback naming another provider's payment is an orphan, whatever it says.
      let payment = await deps.payments.getByOrderId(orderId, 'partpay');
      if (!payment && gatewayReference && FIELD.test(gatewayReference)) {
        const byRef = await deps.payments.get(gatewayReference);
        if (byRef && byRef.provider === 'partpay' && (byRef.upstreamOrderId === null || byRef.upstreamOrderId === orderId)) payment = byRef;
      }
      const keys = payment ? (deps.registry.merchant(payment.merchantId)?.callbackKeys ?? []) : deps.registry.merchants().flatMap((m) => m.callbackKeys);
      const check = verifyCallbackBody(raw, keys);
      if (!check.ok) {
        deps.logger.warn('callback refused: bad signature', { orderId, reason: check.reason, paymentId: payment?.id, ip: req.ip });
        deps.onCallback?.('rejected_signature', payment);
        throw new AuthenticationError(check.reason === 'missing_signature' ? 'callback has no signature' : 'callback signature does not verify');
      }
      const detail = { orderId, orderNumber: fields.get('orderNumber'), orderStatus, gatewayReference, merchantReference: fields.get('merchantReference'), keyIndex: check.keyIndex };
      if (!payment) {
        await deps.payments.journal({ paymentId: null, at: deps.clock(), kind: 'orphan_callback', actor: 'partpay', detail, rawBody: raw });
        deps.logger.warn('callback for an unknown order journaled as orphan', { orderId, gatewayReference });
        deps.onCallback?.('orphan', null);
        res.status(200).json({ status: 'ok' });
        return;
      }
      // Signed, but for another payment than the one its orderId names (PartPay mixing up
      // orders, or our order id on someone else's payment): recorded, never acted on. A 200,
      // as for an orphan, since PartPay resending it would not make it right; reconciliation
      // asks PartPay about the order itself when the payment's own callback stays overdue.
      const mismatched = referenceMismatch(payment, fields);
      if (mismatched.length > 0) {
        await deps.payments.journal({ paymentId: payment.id, at: deps.clock(), kind: 'callback_mismatch', actor: 'partpay', detail: { ...detail, mismatched, note: 'references name another payment: recorded, not acted on' }, rawBody: raw });
        deps.logger.warn('callback not acted on: its references contradict the payment', { paymentId: payment.id, terminalId: payment.terminalId, orderId, mismatched });
        deps.onCallback?.('mismatch', payment);
        res.status(200).json({ status: 'ok' });
        return;
      }
      const outcome = orderOutcome(orderStatus);
      if (outcome === null) {
        await deps.payments.journal({ paymentId: payment.id, at: deps.clock(), kind: 'callback', actor: 'partpay', detail: { ...detail, note: 'unknown status: recorded, not acted on' }, rawBody: raw });
        deps.logger.warn('callback with unknown status', { paymentId: payment.id, terminalId: payment.terminalId, orderStatus });
        res.status(200).json({ status: 'ok' });
        return;
      }
      const { decision, after } = await deps.applier.apply(
        payment.id,
        { type: 'provider_status', outcome, orderId, orderNumber: fields.get('orderNumber'), source: 'callback' },
        { actor: 'partpay', kind: 'callback', detail, rawBody: raw, resolvedBy: 'callback' },
      );
      deps.onCallback?.(decision.kind === 'changed' ? 'applied' : 'duplicate', after);
      res.status(200).json({ status: 'ok' });
    },
  );
  return router;
}
