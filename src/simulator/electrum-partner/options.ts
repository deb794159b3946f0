import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import { electrumPartnerFaultsSchema } from './faults.js';

const credentialsSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

/** How the simulated partner decides payments, by the cents of the requested amount. */
export const partnerBehaviourSchema = z.object({
  /** Cents that are declined with 400 DECLINED_BY_PARTNER. */
  declineCents: z.array(z.int().min(0).max(99)).default([51]),
  /** Cents that are approved for half the requested amount (rounded down): a partial approval. */
  partialApprovalCents: z.array(z.int().min(0).max(99)).default([53]),
  /** Cents that are never answered (the socket stays open until `close()`): the timeout case. */
  noAnswerCents: z.array(z.int().min(0).max(99)).default([52]),
  /** Delay before answering a payment, to imitate a customer approving on the phone. */
  responseDelayMs: z.int().nonnegative().default(0),
  /** Decline payments whose tranId this partner never scanned, or whose token does not match the scan. */
  requireKnownTranId: z.boolean().default(false),
});

/** Options of {@link createElectrumPartnerSimulator}; only `expects` is required. */
export const electrumPartnerSimulatorOptionsSchema = z.object({
  /** The partner's institution id (ScanNotification.partner.id, PaymentResponse.partner.id). */
  partnerId: z.string().min(1).default('demo-partner'),
  /** The partner's institution name (at most 40 characters, as Institution.name). */
  partnerName: z.string().max(40).default('Demo Wallet'),
  /** tenderbridge's Electrum base URL including `/qr/v1`; notifyScan goes to `${intermediateUrl}/scans`. */
  intermediateUrl: z.url().nullable().default(null),
  /** Basic auth this partner uses when it calls the intermediate (its partner id and password). */
  credentials: credentialsSchema.nullable().default(null),
  /** Basic auth the intermediate must send on this partner's `/qr/v1` endpoints. */
  expects: credentialsSchema,
  /** ISO 4217 numeric currency of scan amounts when the QR does not say. */
  currency: z.string().regex(/^\d{3}$/).default('554'),
  behaviour: partnerBehaviourSchema.prefault({}),
  /** Timeout of notifyScan calls. */
  scanTimeoutMs: z.int().positive().default(10_000),
  /** Injected faults (seeded; all off by default); changeable at run time with `POST /admin/faults`. */
  faults: electrumPartnerFaultsSchema.prefault({}),
  /** How many recent payments, advices and scans are kept. */
  historyLimit: z.int().positive().default(500),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && 'child' in v).optional(),
});

export type ElectrumPartnerSimulatorOptionsInput = z.input<typeof electrumPartnerSimulatorOptionsSchema>;
export type ElectrumPartnerSimulatorOptions = z.output<typeof electrumPartnerSimulatorOptionsSchema>;
export type PartnerBehaviour = z.output<typeof partnerBehaviourSchema>;
