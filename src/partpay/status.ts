import type { ProviderOutcome } from '../payments/state-machine.js';

/**
 * PartPay/Zip order status strings as the core's outcomes; unknown strings are null
 * (journaled, not acted on).
 * @example orderOutcome('Complete') // 'approved'
 */
export function orderOutcome(status: string): ProviderOutcome | null {
  switch (status.toLowerCase()) {
    case 'created':
    case 'pending':
    case 'awaiting':
    case 'scanned':
      return 'pending';
    case 'approved':
    case 'complete':
    case 'completed':
    case 'paid':
      return 'approved';
    case 'declined':
    case 'failed':
      return 'declined';
    case 'cancelled':
    case 'canceled':
    case 'abandoned':
      return 'cancelled';
    case 'expired':
      return 'expired';
    default:
      return null;
  }
}

/** What a refund answer's own status says: done, refused, or still being processed. */
export type RefundStatus = 'succeeded' | 'declined' | 'pending';

/**
 * Reads the status PartPay gives a refund. No status at all with a 2xx is taken as done (the
 * documentation shows none); a status we do not know is treated as still pending, so the
 * outbox asks again with the same reference rather than count money that may not have moved.
 * @example refundStatus('declined') // 'declined'
 */
export function refundStatus(status: string | null): RefundStatus {
  if (status === null) return 'succeeded';
  switch (status.toLowerCase()) {
    case 'succeeded':
    case 'success':
    case 'successful':
    case 'complete':
    case 'completed':
    case 'approved':
    case 'refunded':
    case 'processed':
      return 'succeeded';
    case 'declined':
    case 'failed':
    case 'rejected':
    case 'cancelled':
    case 'canceled':
      return 'declined';
    default:
      return 'pending';
  }
}
