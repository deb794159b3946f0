import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import { urlProblem, type EgressPolicy } from '../shared/net/egress-policy.js';
import { createGuardedAgent, egressRefusal } from '../shared/net/guarded-agent.js';
import { errorCode, isResponseTimeout, startDeadline } from '../shared/outbound-http.js';
import { basicAuthHeader } from './basic-auth.js';
import { classifyStatus, type PartnerResult } from './partner-result.js';
import {
  errorDetailSchema,
  paymentConfirmationSchema,
  paymentResponseSchema,
  paymentReversalSchema,
  type PaymentConfirmation,
  type PaymentRequest,
  type PaymentResponse,
  type PaymentReversal,
} from './schemas.js';
import { toWire } from './serialize.js';

export type { PartnerResult } from './partner-result.js';

/** Options of {@link createPartnerClient}. */
export const partnerClientOptionsSchema = z.object({
  /** The partner's base URL including `/qr/v1`, e.g. `https://partner.example/qr/v1`. */
  baseUrl: z.url().refine((u) => !new URL(u).username && !new URL(u).password, 'credentials belong in username/password, not the URL'),
  /** Basic auth user name (our institution id as agreed with the partner). */
  username: z.string().min(1),
  /** Basic auth password; never logged. */
  password: z.string().min(1),
  /** Whole-exchange timeout per call; the spec's default is 60 s. */
  timeoutMs: z.number().int().positive().default(60_000),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && 'child' in v),
  /** Awaited before each call: our own record of what we are about to send must be durable first. */
  beforeSend: z.custom<() => Promise<void>>((v) => typeof v === 'function').optional(),
  /** Where the partner may be (`electrum.partnerNetwork`); default https to public addresses only. */
  network: z.custom<EgressPolicy>((v) => typeof v === 'object' && v !== null && 'key' in v).optional(),
  /** Where calls go instead of the network (the simulator's in-process transport); default: a guarded keep-alive pool of its own. */
  dispatcher: z.custom<Dispatcher>((v) => typeof v === 'object' && v !== null && 'dispatch' in v).optional(),
});

export type PartnerClientOptions = z.input<typeof partnerClientOptionsSchema>;

/**
 * Calls one Electrum partner's `pay`, `confirmPayment` and `reversePayment` with HTTP basic
 * auth, classifying every outcome by the spec's rules (see {@link PartnerResult}). It never
 * retries: a `pay` that ends `unknown` must be reversed by the caller, and advices are
 * retried by the caller's store-and-forward outbox. A base URL the network policy refuses
 * throws at once; a name resolving to a refused address makes each call `unknown` without
 * connecting, its reason naming the config key.
 * @example
 * const partner = createPartnerClient({ baseUrl: 'https://partner.example/qr/v1', username: 'tenderbridge', password, timeoutMs: 60_000, logger });
 * const result = await partner.pay(request);
 * if (result.kind === 'unknown') await outbox.add(reversalFor(request, 'TIMEOUT'));
 */
export function createPartnerClient(input: PartnerClientOptions) {
  const options = partnerClientOptionsSchema.parse(input);
  const base = options.baseUrl.replace(/\/+$/, '');
  const network = options.network ?? { key: 'electrum.partnerNetwork' };
  const problem = urlProblem(new URL(base), network);
  if (problem !== null) throw new Error(`Electrum partner ${base}: ${problem}`);
  const authorization = basicAuthHeader(options.username, options.password);
  const logger = options.logger.child({ component: 'electrum-partner-client', partnerBaseUrl: base });
  // One keep-alive pool per partner, every connection's address checked. Idle sockets are
  // unref'd by undici, so the pool never keeps the process from exiting and needs no close.
  const dispatcher = options.dispatcher ?? createGuardedAgent(network);

  async function post<T>(path: string, body: unknown, messageId: string, parseSuccess: (json: unknown) => T | undefined, notFoundIsSuccess: boolean): Promise<PartnerResult<T>> {
    await options.beforeSend?.();
    const started = Date.now();
    let status: number;
    let text: string;
    // Whole exchange, body included; undici's request() never follows redirects, so a 3xx is an answer.
    const deadline = startDeadline(options.timeoutMs);
    try {
      const res = await request(`${base}${path}`, {
        method: 'POST',
        // user-agent: what fetch sent; some gateways refuse a request without one.
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'node' },
        body: JSON.stringify(toWire(body)),
        dispatcher,
        signal: deadline.signal,
        // undici's own timers (300 s by default) must never cut in before the deadline.
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      status = res.statusCode;
      // Read on every status: that frees the socket for the next call.
      text = await res.body.text();
    } catch (err) {
      const reason = deadline.expired || isResponseTimeout(err) ? 'timeout' : describeNetworkError(err);
      logger.warn('electrum partner call got no answer', { path, messageId, reason, ms: Date.now() - started });
      return { kind: 'unknown', status: null, reason };
    } finally {
      deadline.clear();
    }
    const json = parseJson(text);
    const result = classify(status, json, parseSuccess, notFoundIsSuccess);
    logger.info('electrum partner call', { path, messageId, status, kind: result.kind, ms: Date.now() - started });
    return result;
  }

  return {
    /** `POST /payments`: success carries the validated PaymentResponse. */
    pay: (request: PaymentRequest) => post<PaymentResponse>('/payments', request, request.id, (json) => parseOrUndefined(paymentResponseSchema, json), false),
    /** `POST /payments/confirmations`: success carries the echo when it validates, else null. */
    confirm: (confirmation: PaymentConfirmation) =>
      post<PaymentConfirmation | null>('/payments/confirmations', confirmation, confirmation.id, (json) => parseOrUndefined(paymentConfirmationSchema, json) ?? null, false),
    /** `POST /payments/reversals`: 404 (nothing to reverse) is a success with a null body. */
    reverse: (reversal: PaymentReversal) =>
      post<PaymentReversal | null>('/payments/reversals', reversal, reversal.id, (json) => parseOrUndefined(paymentReversalSchema, json) ?? null, true),
  };
}

export type PartnerClient = ReturnType<typeof createPartnerClient>;

function classify<T>(status: number, json: unknown, parseSuccess: (json: unknown) => T | undefined, notFoundIsSuccess: boolean): PartnerResult<T> {
  if (notFoundIsSuccess && status === 404) return { kind: 'success', status, body: null as T };
  const outcome = classifyStatus(status);
  if (outcome === 'success') {
    const body = parseSuccess(json);
    // A 2xx we cannot read may still have moved money: the caller must treat it as unknown.
    if (body === undefined) return { kind: 'unknown', status, reason: 'success status with a body that is not a valid response', raw: json };
    return { kind: 'success', status, body };
  }
  const error = parseOrUndefined(errorDetailSchema, json) ?? null;
  if (outcome === 'unknown') return { kind: 'unknown', status, reason: `HTTP ${status}`, error, raw: json };
  return { kind: 'failed', status, error, raw: json };
}

function parseOrUndefined<S extends z.ZodType>(schema: S, json: unknown): z.output<S> | undefined {
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  }
}

function describeNetworkError(err: unknown): string {
  const refusal = egressRefusal(err);
  if (refusal !== null) return `refused: ${refusal.message}`;
  const code = errorCode(err);
  return `network error${code ? ` (${code})` : ''}: ${err instanceof Error ? err.message : String(err)}`;
}
