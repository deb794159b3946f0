import { z } from 'zod';

/**
 * Credentials the sandbox plays with. Fixed defaults, so a config written once keeps working
 * across restarts; every one can be changed by a flag. Sandbox values, never real ones.
 */
export const sandboxCredentialsSchema = z.object({
  /** PartPay Merchant Id (the `merchant-id` header). */
  merchantId: z.string().min(1).default('SANDBOX-MERCHANT-0001'),
  clientId: z.string().min(1).default('sandbox-client'),
  clientSecret: z.string().min(1).default('sandbox-client-secret'),
  /** Pre-shared key PartPay signs its callbacks with (literal text). */
  callbackKey: z.string().min(1).default('sandbox-callback-key'),
  /** The OAuth audience the token endpoint requires. */
  audience: z.string().min(1).default('https://auth-sandbox.partpay.example'),
  /** The Electrum partner's id: its basic-auth user towards tenderbridge. */
  partnerId: z.string().min(1).default('sandbox-partner'),
  partnerName: z.string().min(1).max(40).default('Sandbox Wallet'),
  /** Password the partner uses when it calls tenderbridge (notifyScan). */
  partnerPassword: z.string().min(1).default('sandbox-partner-secret'),
  /** Basic auth tenderbridge must use on the partner's `/qr/v1` endpoints. */
  outboundUsername: z.string().min(1).default('tenderbridge'),
  outboundPassword: z.string().min(1).default('sandbox-intermediate-secret'),
});

/** Options of {@link startSandbox}; every field has a default. */
export const sandboxOptionsSchema = z.object({
  /** Address both simulators listen on; loopback unless you mean to share them. */
  host: z.string().min(1).default('127.0.0.1'),
  /** PartPay simulator port (0 picks a free one). */
  partpayPort: z.int().min(0).max(65_535).default(8490),
  /** Electrum partner simulator port (0 picks a free one). */
  partnerPort: z.int().min(0).max(65_535).default(8491),
  /** tenderbridge's base URL: PartPay callbacks go to `/partpay/callback`, scans to `/qr/v1/scans`. */
  daemonUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8480'),
  /** PartPay orders decide themselves after this long (by the cents of the amount); null = only by hand. */
  autoDecideAfterMs: z.int().nonnegative().nullable().default(2_000),
  /** Undecided PartPay orders expire after this long. */
  orderTtlMs: z.int().positive().default(300_000),
  credentials: sandboxCredentialsSchema.prefault({}),
});

export type SandboxOptionsInput = z.input<typeof sandboxOptionsSchema>;
export type SandboxOptions = z.output<typeof sandboxOptionsSchema>;
export type SandboxCredentials = z.output<typeof sandboxCredentialsSchema>;
