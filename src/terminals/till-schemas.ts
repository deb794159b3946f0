import { z } from 'zod';
import { PAYMENT_STATES } from '../payments/state-machine.js';
import { errorJsonSchema } from '../shared/http/error-catalogue.js';
import { paymentJson, paymentStateSchema, refundJson } from './response-schemas.js';

/**
 * The shapes of the terminal API a till follows its payments with: the payment list and its
 * cursor, refunds as resources, the terminal's event stream, and the error body. Requests are
 * validated with them; responses are described by them (and checked in the tests), so the
 * OpenAPI document can be generated from the same source.
 */

const STATE_FILTERS = [...PAYMENT_STATES, 'final'] as const;

/** Largest `limit` of one page. */
export const MAX_PAGE_LIMIT = 200;
/** `limit` when none is given (what the list answered before it had a cursor). */
export const DEFAULT_PAGE_LIMIT = 100;

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
const INSTANT_MESSAGE = 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+13:00';

/** Epoch ms of an ISO 8601 instant, or null when it is not one (a 30 February included). */
export function parseInstant(text: string): number | null {
  const m = ISO_INSTANT.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/** A query parameter holding one ISO 8601 instant, parsed to epoch ms. */
const instantParam = z
  .string({ error: (i) => (Array.isArray(i.input) ? 'must be given once' : INSTANT_MESSAGE) })
  .refine((text) => parseInstant(text) !== null, INSTANT_MESSAGE)
  .transform((text) => parseInstant(text) as number);

/** Query of `GET /v1/payments`: a page of the terminal's payments, newest first. */
export const listPaymentsQuery = z
  .object({
    /** How many payments per page (1-200, default 100). */
    limit: z.coerce
      .number({ error: `must be a whole number from 1 to ${MAX_PAGE_LIMIT}` })
      .int(`must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
      .min(1, `must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
      .max(MAX_PAGE_LIMIT, `must be at most ${MAX_PAGE_LIMIT}; follow has_more with starting_after for more`)
      .default(DEFAULT_PAGE_LIMIT)
      .describe('How many payments per page (1-200, default 100).'),
    /** The cursor: the id of the last payment of the previous page; the page holds the payments after it (older). */
    starting_after: z
      .uuid({ error: 'must be a payment id (UUID): the id of the last payment of the previous page' })
      .optional()
      .describe('Cursor: the id of the last payment of the previous page; this page holds the (older) payments after it.'),
    /** Only payments in this state; "final" for any final state. */
    state: z
      .enum(STATE_FILTERS, { error: `must be one of ${STATE_FILTERS.join(', ')}` })
      .optional()
      .describe('Only payments in this state; "final" matches every final state.'),
    /** Only payments created at or after this instant (ISO 8601 with a time zone). */
    created_gte: instantParam.optional().describe('Only payments created at or after this instant (ISO 8601 with a time zone).'),
    /** Only payments created before this instant (ISO 8601 with a time zone). */
    created_lt: instantParam.optional().describe('Only payments created before this instant (ISO 8601 with a time zone).'),
    /** Only payments with exactly this merchant reference (the till's receipt number). */
    merchantReference: z
      .string({ error: 'must be given once' })
      .min(1, 'must not be empty')
      .max(64, 'must be at most 64 characters')
      .regex(/^[\x20-\x7E]+$/, 'must be printable ASCII')
      .optional()
      .describe("Only payments with exactly this merchantReference (the till's receipt number)."),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.created_gte !== undefined && q.created_lt !== undefined && q.created_lt <= q.created_gte) {
      ctx.addIssue({ code: 'custom', path: ['created_lt'], message: 'must be later than created_gte' });
    }
  });

/** Answer of `GET /v1/payments`. */
export const paymentListResponse = z
  .object({
    /** The page, newest first. */
    data: z.array(paymentJson).describe('The page, newest first (by createdAt, then id).'),
    /** More payments follow: ask again with `starting_after` = the last id of `data`. */
    has_more: z.boolean().describe('More payments follow: ask again with starting_after = the id of the last payment of data.'),
    /** Deprecated: the same array as `data`, kept for tills written before the cursor; removed in /v2. */
    payments: z.array(paymentJson).describe('Deprecated: the same array as data, for tills written before the cursor; removed in /v2.'),
  })
  .strict()
  .meta({ id: 'PaymentList' });
export type PaymentListJson = z.output<typeof paymentListResponse>;

/** Path of `GET /v1/refunds/:id`. */
export const refundIdParam = z.object({ id: z.uuid({ error: 'must be a refund id (UUID)' }) });

/** A refund, as `GET /v1/refunds/:id` answers it (and as a payment's `refunds` lists it): the `Refund` schema. */
export const refundResource = refundJson;

/** Answer of `GET /v1/payments/:id/refunds`: every refund of the payment, oldest first. */
export const refundListResponse = z
  .object({
    data: z.array(refundResource).describe('Every refund of the payment, oldest first.'),
    has_more: z.literal(false).describe('Always false: a payment has few refunds, all in one answer.'),
  })
  .strict()
  .meta({ id: 'RefundList' });
export type RefundListJson = z.output<typeof refundListResponse>;

/** The journal sequence number a client last saw, as `Last-Event-ID` (or `?last_event_id=`) sends it. */
const lastEventId = z
  .string({ error: 'must be given once' })
  .regex(/^\d{1,15}$/, 'must be the id: of the last event received (a whole number)')
  .transform(Number);

/** Query of `GET /v1/events`: where to resume when the client cannot send `Last-Event-ID` (the first connection of an EventSource). */
export const terminalEventsQuery = z
  .object({
    /** Resume after this event id (the `Last-Event-ID` header wins when both are sent). */
    last_event_id: lastEventId.optional().describe('Resume after this event id, as Last-Event-ID would (the header wins when both are sent).'),
  })
  .strict();

/** Header `Last-Event-ID` of `GET /v1/events`. */
export const lastEventIdHeader = lastEventId.optional();

/** What happened, as the SSE `event:` field names it. */
export const TERMINAL_EVENT_TYPES = ['payment.state_changed', 'refund.requested', 'refund.succeeded', 'refund.failed'] as const;

/** The `data:` of one event of `GET /v1/events`; its `id:` is `seq`. */
export const terminalEventData = z
  .object({
    /** The journal sequence number: the event's `id:`, increasing, global to the daemon (so gaps are normal). */
    seq: z.number().int().positive().describe('Journal sequence number, also the SSE id:. Increasing; gaps are normal (other terminals, internal entries).'),
    type: z.enum(TERMINAL_EVENT_TYPES).describe('What happened; also the SSE event: name.'),
    at: z.string().describe('When it happened (ISO 8601).'),
    paymentId: z.uuid(),
    merchantReference: z.string(),
    /** For payment.state_changed: the state left (null when the payment was created) and the state reached. */
    from: paymentStateSchema.nullable().optional().describe('payment.state_changed: the state left (null for a new payment).'),
    to: paymentStateSchema.optional().describe('payment.state_changed: the state reached.'),
    /** For payment.state_changed: the payment's version after the change. */
    version: z.number().int().optional().describe("payment.state_changed: the payment's version after the change."),
    /** For refund.*: the refund, as it is now. */
    refund: refundResource.nullable().optional().describe('refund.*: the refund as it is now.'),
    /** The payment as it is now (when the event is sent, not when it happened: a replay shows the latest). */
    payment: paymentJson.nullable().describe('The payment as it is when the event is sent (a replayed event shows the latest state).'),
  })
  .strict()
  .meta({ id: 'TerminalEvent' });

/** The `data:` of the `shutdown` event of `GET /v1/events`: the daemon is stopping; reconnect with `Last-Event-ID`. */
export const terminalShutdownEventData = z
  .object({
    reason: z.string(),
    lastEventId: z.number().int().nullable().describe('The id of the last event read (null when none was): reconnect with it as Last-Event-ID'),
  })
  .strict()
  .meta({ id: 'TerminalShutdownEvent' });
export type TerminalShutdownEventJson = z.output<typeof terminalShutdownEventData>;

/** The JSON error body of the terminal API (every code; the document narrows it per status). */
export const errorResponse = errorJsonSchema();
