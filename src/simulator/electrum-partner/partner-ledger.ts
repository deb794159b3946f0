import type { PaymentRequest } from '../../electrum/schemas.js';

/** Where a payment stands on the simulated partner. */
export type PartnerPaymentState = 'approved' | 'declined' | 'pending' | 'confirmed' | 'reversed';

/** A payment the partner received with a valid body. */
export interface PartnerPayment {
  requestId: string;
  tranId: string;
  amountMinor: number | null;
  currency: string | null;
  receivedAt: string;
  state: PartnerPaymentState;
  /** What the partner approved (null until approved; less than requested for a partial approval). */
  approvedMinor: number | null;
  /** The final amount an advice set (a confirmation or reversal carrying `approvedAmount`); null: none said. */
  finalMinor: number | null;
  /** HTTP status of the answer; null while (or when never) answered. */
  status: number | null;
  request: PaymentRequest;
}

/**
 * What the partner holds as taken from the customer: the approved amount until an advice says
 * otherwise; a confirmation's or reversal's final amount once one came (a reversal without one
 * takes everything back).
 * @example settledMinor({ state: 'reversed', approvedMinor: 1000, finalMinor: 600, ... }) // 600
 */
export function settledMinor(p: Pick<PartnerPayment, 'state' | 'approvedMinor' | 'finalMinor'>): number {
  if (p.state === 'approved' || p.state === 'confirmed') return p.finalMinor ?? p.approvedMinor ?? 0;
  if (p.state === 'reversed') return p.finalMinor ?? 0;
  return 0;
}

/** A message as received, with the time and the status and body it was answered with (null: not answered). */
export interface ReceivedMessage {
  time: string;
  body: unknown;
  status: number | null;
  /** The body of the answer (what the intermediate got back), null while unanswered. */
  answer: unknown;
}

/** An answer kept per advice id, so a repeated advice gets the same answer. */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

/**
 * In-memory bookkeeping of the simulated partner: payments by request id, the raw messages
 * received, answers per advice id, and the tranIds it scanned with their payment tokens.
 * Bounded by `limit` (oldest dropped) so a long demo does not grow without end.
 */
export function createPartnerLedger(limit: number) {
  const payments = new Map<string, PartnerPayment>();
  const received = { payments: [] as ReceivedMessage[], confirmations: [] as ReceivedMessage[], reversals: [] as ReceivedMessage[] };
  const answers = { confirmations: new Map<string, StoredAnswer>(), reversals: new Map<string, StoredAnswer>() };
  const scanned = new Map<string, string | null>();

  function trimMap<K, V>(map: Map<K, V>): void {
    while (map.size > limit) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
    }
  }

  function record(kind: keyof typeof received, body: unknown): ReceivedMessage {
    const message: ReceivedMessage = { time: new Date().toISOString(), body, status: null, answer: null };
    const list = received[kind];
    list.push(message);
    if (list.length > limit) list.splice(0, list.length - limit);
    return message;
  }

  return {
    record,
    addPayment(payment: PartnerPayment): void {
      payments.set(payment.requestId, payment);
      trimMap(payments);
    },
    payment: (requestId: string) => payments.get(requestId),
    /** Most recent first. */
    recentPayments: (): PartnerPayment[] => [...payments.values()].reverse(),
    answer: (kind: keyof typeof answers, adviceId: string) => answers[kind].get(adviceId),
    remember(kind: keyof typeof answers, adviceId: string, answer: StoredAnswer): void {
      answers[kind].set(adviceId, answer);
      trimMap(answers[kind]);
    },
    rememberScan(tranId: string, token: string | null): void {
      scanned.set(tranId, token);
      trimMap(scanned);
    },
    /** The payment token of a scanned tranId (null when the scan had none); undefined if never scanned. */
    scanToken: (tranId: string) => (scanned.has(tranId) ? (scanned.get(tranId) ?? null) : undefined),
    received: () => ({ payments: [...received.payments], confirmations: [...received.confirmations], reversals: [...received.reversals] }),
  };
}

export type PartnerLedger = ReturnType<typeof createPartnerLedger>;
