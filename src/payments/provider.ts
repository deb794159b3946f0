import type { Repos } from '../storage/port.js';
import type { OutboxItem } from '../outbox/repository.js';
import type { ProviderOutcome } from './state-machine.js';
import type { Payment, Provider, Refund } from './types.js';

/**
 * The port between the payments core and whoever serves a payment upstream (PartPay, an
 * Electrum partner). The core decides *what* is owed (cancel, refund, void) and when; a
 * provider knows *how*: its calls, its status strings, its idempotency keys, its merchants or
 * partners. `payments/` imports no provider; `partpay/` and `electrum/` implement this.
 *
 * Every method that calls upstream throws an `UpstreamError` with `retryable: true` for a
 * failure worth retrying (the outbox tries again with the same key); anything else it throws
 * is permanent.
 */
export interface PaymentProvider {
  readonly name: Provider;
  /** How messages name the provider: "PartPay", "the Electrum partner". */
  readonly label: string;

  /**
   * True when a cancel of an open payment is asked upstream first, so an approval at the same
   * moment wins ("approved", not a cancel). False: the cancel is decided here and delivered
   * from the outbox.
   */
  readonly asksBeforeCancel: boolean;

  /** True when a refund is attempted at once (the terminal waits for it); false: only from the outbox. */
  readonly refundsAtOnce: boolean;

  /** Longest an attempt at once may take, every retry and wait included (the outbox's safety delay). */
  readonly attemptBoundMs: number;

  /**
   * Where the payment stands upstream, for reconciliation and expiry; null when the provider
   * cannot be asked (Electrum partners have no status inquiry) or holds no order yet.
   */
  status(p: Payment): Promise<StatusAnswer | null>;

  /** Cancels (or voids) what the provider holds for the payment. `owed` comes from the outbox row (or is fresh). */
  cancel(p: Payment, owed: OwedCancel): Promise<CancelAnswer>;

  /**
   * Inside the transaction that records a refund: refuses one this provider cannot make for
   * this payment (throw a `ConflictError` that says why), and records what the provider needs.
   */
  claimRefund(r: Repos, p: Payment, refund: Refund, owed: OwedRefund): Promise<void>;

  /** Gives `refund.amountMinor` back to the customer upstream, idempotently by `owed.key`. */
  refund(p: Payment, refund: Refund, owed: OwedRefund): Promise<RefundAnswer>;

  /** What to do with an open payment past its deadline when the provider could not tell (or was not asked). */
  onDeadline(p: Payment): Promise<'expire' | 'outcome_unknown' | 'leave'>;

  /** When a cancel decided here should void the payment (`reversed`) rather than cancel it. */
  voidsOnCancel(p: Payment): boolean;

  /** Creates the provider's order for a new payment (PartPay); absent where payments arrive from upstream (Electrum). */
  create?(p: Payment): Promise<CreatedOrder>;

  /** Delivers an owed item of a kind this provider owns (e.g. `electrum.confirmation`). */
  deliverOwn?(item: OutboxItem, p: Payment): Promise<DeliveryResult>;

  /** Provider-specific facts for the terminal API and the console (null: none yet). */
  describe(p: Payment): Promise<Record<string, unknown> | null>;
}

/** A provider that makes orders for payments a terminal starts (PartPay). */
export type OrderingProvider = PaymentProvider & Required<Pick<PaymentProvider, 'create'>>;

/** A new order upstream: its reference and the QR image the customer scans (inline base64 or a URL to fetch). */
export interface CreatedOrder {
  orderId: string;
  orderNumber: string | null;
  status: string | null;
  qr: { kind: 'base64'; data: string } | { kind: 'url'; url: string };
}

/** Where a payment stands upstream, normalised by the provider (null outcome: a status it does not know). */
export interface StatusAnswer {
  outcome: ProviderOutcome | null;
  /** The status as the provider said it, for the journal. */
  status: string;
  orderId?: string;
  orderNumber?: string | null;
}

/** The idempotency key and reason of an owed cancel (the key stays the same on every attempt). */
export interface OwedCancel {
  key: string;
  /** Why, in the provider's words where it has some (Electrum: TIMEOUT, CANCELLED, RESPONSE_NOT_FINAL). */
  reason: string | null;
}

/** The idempotency key and reason of an owed refund. */
export interface OwedRefund {
  key: string;
  reason: string | null;
}

export type CancelAnswer =
  /** The provider answered: the order's state after the cancel (null: a status it does not know; taken as cancelled). */
  | { kind: 'answered'; outcome: ProviderOutcome | null; status: string }
  /** The provider refused (most likely the order reached a final state first). */
  | { kind: 'refused'; message: string }
  /** Not yet: something upstream must finish first (an Electrum forward still in flight). */
  | { kind: 'wait'; untilMs: number };

export type RefundAnswer =
  | { kind: 'succeeded'; upstreamRefundId: string | null }
  /** The provider will not refund (the money did not move): the refund failed. */
  | { kind: 'declined'; message: string }
  /** Accepted but not finished upstream: asked again later with the same key. */
  | { kind: 'pending'; message: string }
  /** Not yet: something upstream must finish first. */
  | { kind: 'wait'; untilMs: number };

/** What an outbox delivery concluded: delivered, try again later (counts an attempt), or not before `untilMs` (does not). */
export type DeliveryResult = 'done' | 'retry' | { waitUntilMs: number };

/** The providers the daemon serves, by name. */
export interface Providers {
  of(p: Pick<Payment, 'provider' | 'id'>): PaymentProvider;
}

/**
 * Providers by name; a payment of a provider not configured is a programming error.
 * @example const providers = createProviders([partpayProvider, electrumProvider]); providers.of(payment).cancel(...)
 */
export function createProviders(list: readonly PaymentProvider[]): Providers {
  const byName = new Map(list.map((p) => [p.name, p]));
  return {
    of(p) {
      const provider = byName.get(p.provider);
      if (!provider) throw new Error(`payment ${p.id}: provider ${p.provider} is not served by this daemon`);
      return provider;
    },
  };
}
