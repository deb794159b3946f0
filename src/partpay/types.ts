/** What the PartPay adapter needs to act for one merchant (resolved from the registry). */
export interface MerchantCredentials {
  /** Our registry id of the merchant (used for logs, metrics, token cache keys). */
  id: string;
  /** PartPay's Merchant Id, sent in the merchant-id header on every Terminal API call. */
  partpayMerchantId: string;
  /** OAuth2 client id issued by PartPay for this merchant. */
  clientId: string;
  /** OAuth2 client secret (already resolved from env/file). */
  clientSecret: string;
}

/** The QR of a new order: PartPay answers with a base64 JPEG or an image URL. */
export type PartPayQr = { kind: 'base64'; data: string } | { kind: 'url'; url: string };

export interface CreateOrderRequest {
  /** Our payment id, sent as `gatewayReference` and echoed in the callback. */
  paymentId: string;
  /** The terminal's own reference, sent as `merchantReference`. */
  merchantReference: string;
  /** Integer minor units. */
  amountMinor: number;
  /** ISO 4217 alphabetic code, e.g. NZD. */
  currency: string;
  /** Stable across retries of the same create so PartPay never makes a second order. */
  idempotencyKey: string;
}

export interface CreatedOrder {
  orderId: string;
  orderNumber: string | null;
  /** Raw status string as PartPay sent it (lowercased), if it sent one. */
  status: string | null;
  qr: PartPayQr;
}

export interface OrderStatus {
  orderId: string;
  orderNumber: string | null;
  /** Raw status string as PartPay sent it (lowercased). */
  status: string;
}

export interface RefundRequest {
  amountMinor: number;
  currency: string;
  /** Our refund id, sent as `merchantRefundReference`; stable across retries. */
  reference: string;
}
