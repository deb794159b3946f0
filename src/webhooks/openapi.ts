import { z } from 'zod';
import type { ApiHeader, ApiWebhook } from '../shared/http/openapi.js';
import { EXAMPLE_PAYMENT, EXAMPLE_REFUND } from '../terminals/operations.js';
import { terminalEventData } from '../terminals/till-schemas.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './owe.js';
import { SIGNATURE_HEADER } from './signature.js';

/**
 * The webhooks of the terminal API's OpenAPI document (its top-level `webhooks`, one per event
 * type): the body is `terminalEventData`, the schema of the `data:` of `GET /v1/events` that
 * src/webhooks/deliver.ts builds every body as (terminalEventOf); the headers are those it sends.
 * test/integration/webhooks.test.ts validates real deliveries against this part of the document.
 */

const at = '2026-11-21T22:33:02.101Z';
const common = { at, paymentId: EXAMPLE_PAYMENT.id, merchantReference: EXAMPLE_PAYMENT.merchantReference };
const EXAMPLES: Record<WebhookEventType, z.input<typeof terminalEventData>> = {
  'payment.state_changed': { ...common, seq: 41, type: 'payment.state_changed', from: 'awaiting_customer', to: 'approved', version: 3, payment: EXAMPLE_PAYMENT },
  'refund.succeeded': { ...common, seq: 44, type: 'refund.succeeded', refund: EXAMPLE_REFUND, payment: { ...EXAMPLE_PAYMENT, state: 'partially_refunded', version: 4, refundedMinor: 500, settledMinor: 1495, refunds: [EXAMPLE_REFUND] } },
  'refund.failed': { ...common, seq: 44, type: 'refund.failed', refund: { ...EXAMPLE_REFUND, state: 'failed', upstreamReference: null, error: 'PartPay declined the refund: insufficient funds' }, payment: { ...EXAMPLE_PAYMENT, version: 3 } },
};

const WHAT: Record<WebhookEventType, { summary: string; description: string }> = {
  'payment.state_changed': { summary: 'A payment changed state', description: 'Each committed state change of a payment of a matching terminal or store (created, awaiting the customer, approved, declined, cancelled, expired, failed, refunded…): `from`, `to`, `version`, and the payment as it is when the delivery is made.' },
  'refund.succeeded': { summary: 'A refund was made', description: "The provider confirmed a refund (at once, or later for a queued one): `refund` is the refund, `payment` the payment with it. Sent in the same outbox transaction as the refund's settle, with the payment's `payment.state_changed`." },
  'refund.failed': { summary: 'A refund was not made', description: 'The provider declined a refund, or it failed for good: `refund.error` says why; the payment is unchanged.' },
};

const headers = (type: WebhookEventType): Record<string, ApiHeader> => ({
  [SIGNATURE_HEADER]: { required: true, schema: z.string().regex(/^t=\d+,v1=[0-9a-f]{64}$/), description: '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint\'s secret>`. Verify it over the raw body, in constant time, and refuse a `t` more than 5 minutes off (README, Webhooks).' },
  'Tenderbridge-Event-Id': { required: true, schema: z.string().regex(/^\d+$/), description: "The journal sequence number: the body's `seq`, the SSE `id:` of `GET /v1/events`. The same on every retry: de-duplicate on it." },
  'Tenderbridge-Event-Type': { required: true, schema: z.literal(type), description: "The body's `type`." },
  'Tenderbridge-Webhook-Id': { required: true, schema: z.string().min(1), description: 'The id of the endpoint in webhooks.endpoints.' },
});

export const WEBHOOKS: readonly ApiWebhook[] = WEBHOOK_EVENT_TYPES.map((type) => ({
  name: type,
  operationId: `webhook${type.replace(/(^|[._])(\w)/g, (_, _sep: string, c: string) => c.toUpperCase())}`,
  tags: ['webhooks'],
  ...WHAT[type],
  headers: headers(type),
  body: { schema: terminalEventData, example: EXAMPLES[type] },
  responses: {
    '2XX': { description: 'Received: the delivery is done.' },
    default: { description: 'Any other status (a redirect too: it is never followed), a timeout or a network failure: retried from the outbox with backoff, the same event id each time; a dead letter after outbox.maxAttempts, shown in the console.' },
  },
}));
