import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import { partpayProtocolSchema } from '../../partpay/protocol.js';
import { partpayFaultsSchema } from './faults.js';

/** One merchant the simulator knows: its OAuth client, callback key and how it sends QR codes. */
export const simulatedMerchantSchema = z.object({
  /** PartPay Merchant Id expected in the merchant-id header. */
  merchantId: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Pre-shared key for callback signatures (literal UTF-8 text). */
  callbackKey: z.string().min(1),
  /** How create-order answers carry the QR: plain base64, a `data:` URI, or an image URL. */
  qrDelivery: z.enum(['base64', 'data-uri', 'url']).default('base64'),
});

/** Options of {@link createPartPaySimulator}; every field but `audience` and `merchants` has a default. */
export const partpaySimulatorOptionsSchema = z.object({
  /** The same configurable paths, header and field names the adapter uses. */
  protocol: partpayProtocolSchema,
  /** The `audience` the token endpoint requires. */
  audience: z.string().min(1),
  /** Path of the OAuth token endpoint. */
  tokenPath: z.string().startsWith('/').default('/oauth/token'),
  /** Mount point of the Terminal API; the adapter's apiBaseUrl is `${url}${apiBasePath}`. */
  apiBasePath: z.string().startsWith('/').default('/api'),
  /** Lifetime of issued access tokens. */
  tokenTtlSeconds: z.number().int().positive().default(86_400),
  merchants: z.array(simulatedMerchantSchema).default([]),
  /** Default callback destination; an order's own callback URL wins. */
  callbackUrl: z.url().nullable().default(null),
  /** Decide each order by itself after this delay (cents 51 declined, 52 never, else approved); null = only by hand. */
  autoDecideAfterMs: z.number().int().nonnegative().nullable().default(null),
  /** Undecided orders expire after this long. */
  orderTtlMs: z.number().int().positive().default(300_000),
  /** Callback delivery retries (attempts includes the first). */
  callbackRetry: z
    .object({ attempts: z.number().int().positive().default(5), initialDelayMs: z.number().int().nonnegative().default(500) })
    .prefault({}),
  /** Injected faults (seeded; all off by default); changeable at run time with `POST /admin/faults`. */
  faults: partpayFaultsSchema.prefault({}),
  /** Base URL inside QR codes and image URLs; defaults to the listen URL. */
  publicUrl: z.url().optional(),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && 'child' in v).optional(),
});

/** Options as callers write them (defaults optional). */
export type PartPaySimulatorOptionsInput = z.input<typeof partpaySimulatorOptionsSchema>;
/** Options after defaults. */
export type PartPaySimulatorOptions = z.output<typeof partpaySimulatorOptionsSchema>;
export type SimulatedMerchant = z.output<typeof simulatedMerchantSchema>;
