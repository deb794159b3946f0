import { z } from 'zod';

/**
 * The parts of the PartPay Terminal API that the public documentation does not give:
 * paths, the merchant-id header, and the response field names. Both the adapter and the
 * simulator read this, so tests exercise whatever a deployment configures instead of one
 * hard-coded guess. Every default here is OUR GUESS, to confirm with PartPay at onboarding;
 * the README's PartPay section lists them.
 */
export const partpayProtocolSchema = z
  .object({
    /** Custom header carrying the PartPay Merchant Id on every Terminal API call. Default is a guess modelled on PartPay's later `partpay-` headers. */
    merchantIdHeader: z.string().min(1).default('partpay-merchantid'),
    /** Header carrying our idempotency key on create/cancel/refund; null to send none. Guess. */
    idempotencyHeader: z.string().min(1).nullable().default('Idempotency-Key'),
    /** Paths relative to the API base URL; `{orderId}` is replaced. All guesses except refund, which mirrors the merchant API. */
    paths: z
      .object({
        /** POST: create a terminal order. */
        createOrder: z.string().startsWith('/').default('/terminal/orders'),
        /** GET: an order's status. */
        orderStatus: z.string().startsWith('/').default('/terminal/orders/{orderId}'),
        /** POST: cancel an order that the customer has not completed. */
        cancelOrder: z.string().startsWith('/').default('/terminal/orders/{orderId}/cancel'),
        /** POST: refund all or part of an approved order (documented for the merchant API). */
        refundOrder: z.string().startsWith('/').default('/order/{orderId}/refund'),
      })
      .prefault({}),
    /** Field names in the create-order request and in order responses. */
    fields: z
      .object({
        /** Request: amount in decimal major units (documented style). */
        amount: z.string().min(1).default('amount'),
        /** Request: currency code; null to omit (PartPay is single-currency per market). Guess. */
        currency: z.string().min(1).nullable().default(null),
        /** Request: where PartPay should post the callback; null to omit (set at onboarding instead). Guess. */
        callbackUrl: z.string().min(1).nullable().default('callbackUrl'),
        /** Response: the order id (documented). */
        orderId: z.string().min(1).default('orderId'),
        /** Response: the human-readable order number (documented in the callback). */
        orderNumber: z.string().min(1).default('orderNumber'),
        /** Response: the order's status (named as in the callback). */
        orderStatus: z.string().min(1).default('orderStatus'),
        /** Response: base64 JPEG of the QR code, with or without a `data:` prefix. Guess. */
        qrImageBase64: z.string().min(1).default('qrCodeImage'),
        /** Response: URL to fetch the QR image from. Guess. */
        qrImageUrl: z.string().min(1).default('qrCodeUrl'),
      })
      .prefault({}),
  })
  .prefault({});

export type PartPayProtocol = z.infer<typeof partpayProtocolSchema>;

/** PartPay order statuses this project understands (seen across PartPay/Zip APIs). */
export const PARTPAY_STATUSES = ['created', 'pending', 'approved', 'complete', 'declined', 'cancelled', 'expired', 'abandoned'] as const;
export type PartPayStatus = (typeof PARTPAY_STATUSES)[number];

/** Substitutes `{orderId}` in a configured path, URL-encoding the id. */
export function orderPath(template: string, orderId: string): string {
  return template.replaceAll('{orderId}', encodeURIComponent(orderId));
}
