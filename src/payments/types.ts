import type { Attention, PaymentState } from './state-machine.js';

export type Provider = 'partpay' | 'electrum';

/** A payment as the service sees it (camelCase of the `payments` row). Times are epoch ms. */
export interface Payment {
  id: string;
  provider: Provider;
  terminalId: string;
  storeId: string;
  merchantId: string;
  merchantReference: string;
  amountMinor: number;
  currency: string;
  state: PaymentState;
  version: number;
  /** The provider's reference of the order it holds (PartPay's order id; for Electrum the POS's PaymentRequest id). */
  upstreamOrderId: string | null;
  upstreamOrderNumber: string | null;
  upstreamStatus: string | null;
  /** What the provider approved (null until it did; less than `amountMinor` for a partial approval). */
  approvedMinor: number | null;
  refundedMinor: number;
  attention: Attention | null;
  errorCode: string | null;
  errorMessage: string | null;
  qrKind: 'base64' | 'url' | 'text' | null;
  qrData: string | null;
  qrText: string | null;
  resolvedBy: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  finalAt: number | null;
  lastCheckedAt: number | null;
}

/** One row of the append-only journal. */
export interface PaymentEventRow {
  seq: number;
  paymentId: string | null;
  at: number;
  kind: string;
  actor: string;
  fromState: PaymentState | null;
  toState: PaymentState | null;
  version: number | null;
  detail: Record<string, unknown> | null;
  rawBody: string | null;
}

export interface Refund {
  id: string;
  paymentId: string;
  amountMinor: number;
  state: 'pending' | 'succeeded' | 'failed';
  reason: string | null;
  requestedBy: string;
  upstreamRefundId: string | null;
  errorMessage: string | null;
  createdAt: number;
  updatedAt: number;
}
