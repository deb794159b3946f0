import { z } from 'zod';
import { partpayProtocolSchema } from '../../partpay/protocol.js';
import { displayProfileSchema } from '../../qr/display-profile.js';
import { configUrlProblem } from '../net/egress-policy.js';
import { databaseSchema } from './database-schema.js';
import { egressNetwork, hostPattern, httpUrl, id, ipOrCidr, port } from './fields.js';
import { secretRefSchema } from './secret.js';
import { serverSchema } from './server-schema.js';
import { webhooksSchema } from './webhooks-schema.js';

/** PartPay's published domains (README, "PartPay's published environments"): where its QR images may live. */
export const PARTPAY_IMAGE_HOSTS = ['partpay.co.nz', '*.partpay.co.nz', 'zip.co', '*.zip.co'];

/** Logging to stdout (journald). */
const logSchema = z
  .object({
    /** winston level: error, warn, info, http, verbose, debug. */
    level: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  })
  .strict()
  .prefault({});

/** PartPay endpoints and the configurable unknowns of its Terminal API. */
const partpaySchema = z
  .object({
    /** OAuth2 token endpoint (see the README's table of sandbox/production values). */
    tokenUrl: httpUrl,
    /** OAuth2 audience sent with the client-credentials grant. */
    audience: z.string().min(1),
    /** Base URL of the PartPay API; the protocol paths are appended to it. */
    apiBaseUrl: httpUrl,
    /** Source addresses or CIDR ranges PartPay's callbacks may come from (when PartPay publishes them); empty = any. */
    callbackAllowedSources: z.array(ipOrCidr).default([]),
    /** Our callback URL as PartPay should call it (sent in create-order when the protocol has a callbackUrl field); null to leave it to onboarding. */
    callbackUrl: httpUrl.nullable().optional(),
    /** Paths, header names and field names the documentation does not give. */
    protocol: partpayProtocolSchema,
    /** Milliseconds before a token request gives up. */
    tokenTimeoutMs: z.number().int().positive().default(10_000),
    /** Milliseconds before one Terminal API call gives up. */
    requestTimeoutMs: z.number().int().positive().default(15_000),
    /** Attempts in total for a failed call that is safe to retry, and the first backoff delay. */
    retries: z
      .object({ attempts: z.number().int().min(1).max(10).default(3), initialDelayMs: z.number().int().min(0).default(200) })
      .strict()
      .prefault({}),
    /** Seconds before a token's expiry at which it is refreshed. */
    tokenRefreshMarginSeconds: z.number().int().min(0).default(300),
    /** Fetching the QR image when PartPay answers with a URL (https only, redirects only within the URL's origin). */
    imageFetch: z
      .object({
        /** Milliseconds for the whole fetch, redirects and body included. */
        timeoutMs: z.number().int().positive().default(5_000),
        /** Largest image accepted, in bytes, counted while it streams in. */
        maxBytes: z.number().int().positive().default(1_048_576),
        /** Hosts an image URL may name: "host" or "*.domain" (subdomains only), with ":port" for another port than 443; apiBaseUrl's origin is always allowed. */
        allowedHosts: z.array(hostPattern).default(() => [...PARTPAY_IMAGE_HOSTS]),
        /** Demo/test only: allow http:// to a loopback host and loopback addresses, for a PartPay simulator on this machine. */
        allowLoopbackHttp: z.boolean().default(false),
        /** Non-public addresses or CIDR ranges (private, link-local ...) an image host may resolve to anyway; https still applies. */
        allowedAddresses: z.array(ipOrCidr).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** How payments behave over time. */
const paymentsSchema = z
  .object({
    /** Seconds a customer has to scan and approve before we expire the order. */
    orderTtlSeconds: z.number().int().min(10).max(3600).default(300),
    /** Seconds past which a payment still waiting for its callback is checked by asking PartPay. */
    callbackOverdueSeconds: z.number().int().min(1).default(30),
    /** What to do when PartPay approves a payment we already cancelled or expired: refund it, cancel the order upstream, or only flag it for an operator. */
    lateApproval: z.enum(['refund', 'cancel', 'flag']).default('refund'),
    /** Longest long-poll a terminal may ask for, in seconds. */
    maxWaitSeconds: z.number().int().min(1).max(60).default(60),
    /** Retention of idempotency keys, in hours. */
    idempotencyKeyHours: z.number().int().min(1).default(48),
  })
  .strict()
  .prefault({});

/** Store-and-forward of owed deliveries (upstream cancels and refunds). */
const outboxSchema = z
  .object({
    /** Attempts before an owed delivery becomes a dead letter for an operator. */
    maxAttempts: z.number().int().min(1).max(100).default(12),
    /** First retry delay in ms; doubles per attempt. */
    baseDelayMs: z.number().int().min(10).default(1_000),
    /** Longest retry delay in ms. */
    maxDelayMs: z.number().int().min(10).default(300_000),
    /**
     * Several daemons on one PostgreSQL database: how long (ms) a claimed delivery is one daemon's
     * alone. Longer than any one attempt may take; a dead daemon's claims are taken over when it runs out.
     */
    leaseMs: z.number().int().min(1_000).default(300_000),
  })
  .strict()
  .prefault({});

const cronExpr = z.string().regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression with 5 or 6 fields');

/** Schedules of the background jobs (node-cron syntax, optional seconds field first). */
const jobsSchema = z
  .object({
    /** Deliver owed cancels/refunds that are due (they are also attempted at once). */
    deliverOutbox: cronExpr.default('*/5 * * * * *'),
    /** Ask PartPay about payments whose callback is overdue. */
    reconcile: cronExpr.default('*/10 * * * * *'),
    /** Expire (and cancel upstream) orders nobody decided in time. */
    expire: cronExpr.default('*/5 * * * * *'),
    /** Delete data past retention (03:17 every night). */
    purge: cronExpr.default('17 3 * * *'),
    /** Write yesterday's end-of-day report (00:05 every day). */
    report: cronExpr.default('5 0 * * *'),
    /** Prove the database takes writes (one rolled-back write) for /readyz, which only reads the last result. */
    readinessProbe: cronExpr.default('*/10 * * * * *'),
    /** Take an online backup of the database into backups.dir (02:45 every night). */
    backup: cronExpr.default('45 2 * * *'),
  })
  .strict()
  .prefault({});

/** Operator-facing endpoints: metrics (and, later, the console). */
const opsSchema = z
  .object({
    /** Who may read /metrics: only loopback clients (a local Prometheus or node exporter), or anyone with the bearer token. */
    metricsAccess: z.enum(['loopback', 'token']).default('loopback'),
    /** Bearer token for /metrics when metricsAccess is "token". */
    metricsToken: secretRefSchema.optional(),
    /** Bearer token that shows /readyz's checks to a client that is not on loopback; the status (200 or 503) is answered to anyone. */
    readinessToken: secretRefSchema.optional(),
    /** Operators allowed into the console (sign-in form, or HTTP basic auth on its API); their name is journaled with each action. */
    operators: z
      .array(z.object({ name: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, 'must be 1-32 letters, digits, dot, dash or underscore'), password: secretRefSchema }).strict())
      .default([]),
    /** Console sign-in sessions (kept in memory: a restart signs every operator out). */
    console: z
      .object({
        /** A session ends after this long without the operator doing anything. */
        idleTimeoutSeconds: z.int().min(5).max(86_400).default(1_800),
        /** ...and this long after sign-in, however active. */
        maxSessionSeconds: z.int().min(60).max(7 * 86_400).default(43_200),
        /** The cookie's `Secure` flag: `auto` when the request came over TLS (directly or via a trusted proxy), or always, or never. */
        secureCookie: z.enum(['auto', 'always', 'never']).default('auto'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({})
  .refine((o) => o.metricsAccess !== 'token' || o.metricsToken !== undefined, { message: 'metricsAccess "token" needs metricsToken', path: ['metricsToken'] });

/** A POS client of the Electrum interface (basic auth user = its `client.id`). */
const electrumClientSchema = z
  .object({
    /** The POS client's id, as sent in `client.id` and used as the basic-auth user name. */
    id: z.string().min(1).max(64),
    /** Its basic-auth password. */
    password: secretRefSchema,
    /** Terminals (registry ids, 8 characters for Electrum) it may act for in `originator.terminalId`. */
    terminals: z.array(id).min(1, 'needs at least one terminal'),
    /** Which provider serves its payments: Electrum partners via scans, or PartPay behind the same operations. */
    provider: z.enum(['electrum', 'partpay']).default('electrum'),
  })
  .strict();

/** A wallet partner of the Electrum interface. */
const electrumPartnerSchema = z
  .object({
    /** The partner's id (`partner.id` in its scans; its basic-auth user name towards us). */
    id: z.string().min(1).max(64),
    /** Display name (≤ 40 characters, the spec's Institution.name). */
    name: z.string().min(1).max(40),
    /** Password the partner uses to call us. */
    password: secretRefSchema,
    /** Base URL of the partner's own interface, ending in /qr/v1. */
    baseUrl: httpUrl,
    /** User name we send to the partner. */
    username: z.string().min(1),
    /** Password we send to the partner. */
    outboundPassword: secretRefSchema,
  })
  .strict();

/** tenderbridge as the intermediate system of the Electrum QR Payment Service Interface v1.7.0. */
const electrumSchema = z
  .object({
    /** Our identifier as QR code provider: sub-tag 00 of the merchant-account template in every QR. */
    providerId: z.string().min(1).max(32).default('nz.tenderbridge'),
    /** Scheme used when a createQrCode request names none. */
    defaultScheme: z.enum(['EMVCO_MERCHANT', 'PSEUDO_EMVCO_MERCHANT', 'ELECTRUM_MERCHANT_MINIMAL']).default('PSEUDO_EMVCO_MERCHANT'),
    /** Seconds a QR code stays valid when the request gives no expiryDate. */
    qrExpirySeconds: z.number().int().min(10).max(86_400).default(300),
    /** Seconds a `pay` is held open waiting for the partner's scan before NO_SCAN_RECEIVED. */
    scanWaitSeconds: z.number().int().min(1).max(300).default(60),
    /** Seconds we wait for a partner's answer to a forwarded payment before reversing it (spec: 60 unless agreed). */
    partnerTimeoutSeconds: z.number().int().min(1).max(120).default(60),
    /** EMVCo merchant category code for EMVCO_MERCHANT codes. */
    merchantCategoryCode: z.string().regex(/^\d{4}$/, 'must be 4 digits').default('5999'),
    /** ISO 3166-1 alpha-2 country for EMVCO_MERCHANT codes. */
    countryCode: z.string().regex(/^[A-Z]{2}$/, 'must be 2 capital letters').default('NZ'),
    /** City for EMVCO_MERCHANT codes (≤ 15 characters). */
    merchantCity: z.string().min(1).max(15).default('Auckland'),
    clients: z.array(electrumClientSchema).default([]),
    partners: z.array(electrumPartnerSchema).default([]),
    /** Where partners' baseUrls may point: https to public addresses unless allowed here. */
    partnerNetwork: egressNetwork('partner simulators', 'a partner may be at (e.g. over a VPN)'),
  })
  .strict()
  .prefault({});

/** How long data is kept. */
const retentionSchema = z
  .object({
    /** Days a settled payment (with its journal, refunds and Electrum records) is kept after it became final. */
    paymentDays: z.number().int().min(1).max(3650).default(400),
    /** Days journal entries without a payment (orphan callbacks) and delivered outbox rows are kept. */
    otherDays: z.number().int().min(1).max(3650).default(90),
  })
  .strict()
  .prefault({});

/** End-of-day reports written by the report job. */
const reportsSchema = z
  .object({
    /** Folder for report-YYYY-MM-DD.csv, relative to the working directory (the StateDirectory under systemd). */
    dir: z.string().min(1).default('reports'),
  })
  .strict()
  .prefault({});

/** Copies of the database: scheduled online backups, and the one taken before each migration. */
const backupsSchema = z
  .object({
    /** Folder for the scheduled backups (tenderbridge-<UTC time>.db), relative to the working directory (the StateDirectory under systemd, the only place the unit may write). */
    dir: z.string().min(1).default('backups'),
    /** Scheduled backups kept (older ones are deleted after each new one); 0 turns the backup job off. */
    keep: z.number().int().min(0).max(1000).default(7),
    /** Backups taken before a migration, kept beside the database (tenderbridge.db.pre-migration-<time>-schema<N>.db); 0 migrates without one (not recommended). */
    keepBeforeMigration: z.number().int().min(0).max(100).default(3),
  })
  .strict()
  .prefault({});

/** A merchant (a PartPay retailer brand) and its credentials. */
const merchantSchema = z
  .object({
    /** Our id for the merchant. */
    id,
    /** Display name. */
    name: z.string().min(1).max(100),
    /** PartPay's Merchant Id, sent in the merchant-id header. */
    partpayMerchantId: z.string().min(1).max(100),
    /** OAuth2 client id issued by PartPay. */
    clientId: z.string().min(1),
    /** OAuth2 client secret. */
    clientSecret: secretRefSchema,
    /** Callback signing keys; give two while rotating (old and new are both accepted). */
    callbackKeys: z.array(secretRefSchema).min(1, 'needs at least one key').max(2, 'accepts at most two keys (old and new, during a rotation)'),
    /** ISO 4217 currency of the merchant's PartPay account (and its Electrum clients); refused where ISO and CLDR digits differ (HUF, IDR ...). */
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as NZD').default('NZD'),
  })
  .strict();

/** A physical store. */
const storeSchema = z
  .object({
    /** Our id for the store. */
    id,
    /** Display name. */
    name: z.string().min(1).max(100),
    /** The merchant the store trades as. */
    merchant: id,
  })
  .strict();

/** A payment terminal (lane). */
const terminalSchema = z
  .object({
    /** Terminal id (Electrum requires 8 characters; ours accepts up to 64). */
    id,
    /** The store it stands in. */
    store: id,
    /** Its API key (demo or bootstrap only; prefer apiKeyHash or the CLI). */
    apiKey: secretRefSchema.optional(),
    /** SHA-256 of its API key, as printed by `tenderbridge terminals add`: "sha256:<hex>". */
    apiKeyHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 hex digits').optional(),
    /** Name of a display profile, or an inline profile. */
    displayProfile: z.union([z.string().min(1), displayProfileSchema]).default('default'),
  })
  .strict()
  .refine((t) => (t.apiKey === undefined) !== (t.apiKeyHash === undefined), { message: 'give exactly one of apiKey or apiKeyHash' });

/** The embedded PartPay simulator (demo, tests and benchmark). */
const partpaySimulatorSchema = z
  .object({
    /** Start the simulator inside the daemon. Never in production. */
    enabled: z.boolean().default(false),
    /** Bind address of the simulator. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port of the simulator; the partpay URLs must point at it. */
    port: port.default(8490),
    /** Decide orders by themselves after this many ms (cents 51 declined, 52 never decided); null = only by the customer page. */
    autoDecideAfterMs: z.number().int().min(0).nullable().default(null),
    /** How the simulator hands out QR images: base64 JPEG, base64 with a data: prefix, or an image URL. */
    qrDelivery: z.enum(['base64', 'data-uri', 'url']).default('base64'),
    /** Milliseconds after which an undecided simulated order expires. */
    orderTtlMs: z.number().int().positive().default(300_000),
  })
  .strict()
  .prefault({});

/** The embedded Electrum partner simulator (demo): a wallet that scans and pays. */
const electrumPartnerSimulatorSchema = z
  .object({
    /** Start it inside the daemon. Never in production. */
    enabled: z.boolean().default(false),
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8491),
    /** Which configured partner it plays (its id, passwords and base URL must match). */
    partnerId: z.string().min(1).default('demo-partner'),
  })
  .strict()
  .prefault({});

/** The whole configuration file. */
export const configSchema = z
  .object({
    server: serverSchema,
    /** SQLite (default) or PostgreSQL: see database-schema.ts. */
    database: databaseSchema,
    log: logSchema,
    partpay: partpaySchema,
    payments: paymentsSchema,
    outbox: outboxSchema,
    ops: opsSchema,
    retention: retentionSchema,
    reports: reportsSchema,
    backups: backupsSchema,
    electrum: electrumSchema,
    jobs: jobsSchema,
    /** Signed webhooks of payment state changes (endpoints, timeout, network policy); off without endpoints. */
    webhooks: webhooksSchema,
    /** Named display profiles; "default" always exists. */
    displayProfiles: z.record(z.string(), displayProfileSchema).default({}),
    merchants: z.array(merchantSchema).min(1, 'needs at least one merchant'),
    stores: z.array(storeSchema).default([]),
    terminals: z.array(terminalSchema).default([]),
    simulators: z.object({ partpay: partpaySimulatorSchema, electrumPartner: electrumPartnerSimulatorSchema }).strict().prefault({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const unique = (items: Array<{ id: string }>, key: string) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `duplicate id "${item.id}"` });
        seen.add(item.id);
      });
    };
    unique(cfg.merchants, 'merchants');
    unique(cfg.stores, 'stores');
    unique(cfg.terminals, 'terminals');
    unique(cfg.electrum.clients, 'electrum.clients');
    unique(cfg.electrum.partners, 'electrum.partners');
    const partnerNetwork = { key: 'electrum.partnerNetwork', ...cfg.electrum.partnerNetwork };
    cfg.electrum.partners.forEach((p, i) => {
      // Literal addresses and localhost only: names are checked against their addresses when connecting.
      const problem = configUrlProblem(new URL(p.baseUrl), partnerNetwork);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['electrum', 'partners', i, 'baseUrl'], message: problem });
    });
    const terminalIds = new Set(cfg.terminals.map((t) => t.id));
    cfg.electrum.clients.forEach((c, i) => {
      c.terminals.forEach((t, j) => {
        if (!terminalIds.has(t)) ctx.addIssue({ code: 'custom', path: ['electrum', 'clients', i, 'terminals', j], message: `no terminal "${t}" in terminals` });
        else if (t.length !== 8) ctx.addIssue({ code: 'custom', path: ['electrum', 'clients', i, 'terminals', j], message: `Electrum terminal ids are 8 characters; "${t}" is ${t.length}` });
      });
    });
    if (cfg.simulators.electrumPartner.enabled && !cfg.electrum.partners.some((p) => p.id === cfg.simulators.electrumPartner.partnerId)) {
      ctx.addIssue({ code: 'custom', path: ['simulators', 'electrumPartner', 'partnerId'], message: `no partner "${cfg.simulators.electrumPartner.partnerId}" in electrum.partners` });
    }
    const merchants = new Set(cfg.merchants.map((m) => m.id));
    const stores = new Set(cfg.stores.map((s) => s.id));
    cfg.stores.forEach((s, i) => {
      if (!merchants.has(s.merchant)) ctx.addIssue({ code: 'custom', path: ['stores', i, 'merchant'], message: `no merchant "${s.merchant}"` });
    });
    cfg.terminals.forEach((t, i) => {
      if (!stores.has(t.store)) ctx.addIssue({ code: 'custom', path: ['terminals', i, 'store'], message: `no store "${t.store}"` });
      if (typeof t.displayProfile === 'string' && t.displayProfile !== 'default' && !Object.hasOwn(cfg.displayProfiles, t.displayProfile)) {
        ctx.addIssue({ code: 'custom', path: ['terminals', i, 'displayProfile'], message: `no display profile "${t.displayProfile}"` });
      }
    });
  });

/** The configuration as written (secrets still references). */
export type RawConfig = z.infer<typeof configSchema>;
export type MerchantConfig = z.infer<typeof merchantSchema>;
export type TerminalConfig = z.infer<typeof terminalSchema>;
