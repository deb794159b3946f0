import { z } from 'zod';
import type { ApiOperation, JsonSchema } from '../shared/http/openapi.js';
import { profileOverridesSchema } from '../qr/display-profile.js';
import { paymentListResponse, refundIdParam, refundListResponse, refundResource, terminalEventData, terminalEventsQuery, terminalShutdownEventData, TERMINAL_EVENT_TYPES } from './till-schemas.js';
import { cancelBody, createPaymentBody, getPaymentQuery, idempotencyKeyHeader, listPaymentsQuery, paymentIdParam, refundBody, tranIdParam } from './schemas.js';
import { paymentJson, qrTextJson, refundDeclinedJson, refundResultJson, shutdownEventJson, terminalJson, transitionEventJson, type PaymentJson, type RefundJson } from './response-schemas.js';

/**
 * The operations of the terminal API `/v1`, one entry per route, built from the schemas the
 * routes parse with and the presenter answers with. The OpenAPI document is generated from
 * this list (src/terminals/openapi.ts); test/unit/openapi.test.ts fails when an express route
 * under /v1 has no entry here, and the contract check of the test suite fails when a route
 * answers something its entry does not describe.
 */

const ID = '6102cc0a-5d2e-4c59-9a37-1f0e8d2b7c41';
const base = `/v1/payments/${ID}`;
const at = '2026-11-21T22:32:45.854Z';

/** An example payment (checked against the Payment schema by the unit test). */
export const EXAMPLE_PAYMENT: PaymentJson = {
  id: ID,
  state: 'approved',
  version: 3,
  final: true,
  paid: true,
  provider: 'partpay',
  terminalId: 'TERM0001',
  storeId: 'STORE01',
  merchantReference: 'SALE-0001',
  amountMinor: 1995,
  currency: 'NZD',
  approvedMinor: 1995,
  refundedMinor: 0,
  settledMinor: 1995,
  refunds: [],
  partpay: { orderId: '90664084-6c1e-4b6f-8d7a-2f4b9c3d1e55', orderNumber: '261121-000001' },
  electrum: null,
  qr: { imageUrl: `${base}/qr`, textUrl: `${base}/qr/text`, text: null },
  error: null,
  attention: null,
  createdAt: at,
  updatedAt: '2026-11-21T22:33:02.101Z',
  expiresAt: '2026-11-21T22:37:45.854Z',
  finalAt: '2026-11-21T22:33:02.101Z',
  links: { self: base, events: `${base}/events`, qr: `${base}/qr`, cancel: `${base}/cancel`, refunds: `${base}/refunds` },
};
const OPEN_PAYMENT: PaymentJson = { ...EXAMPLE_PAYMENT, state: 'awaiting_customer', version: 2, final: false, paid: false, approvedMinor: null, settledMinor: 0, updatedAt: at, finalAt: null };
const REFUND_ID = '0b7e4a52-8f1d-4c3e-9a6b-5d2c1e0f9a87';
export const EXAMPLE_REFUND: RefundJson = { id: REFUND_ID, paymentId: ID, amountMinor: 500, state: 'succeeded', reason: 'returned item', upstreamReference: 'RF-261121-0001', error: null, createdAt: at, updatedAt: at, links: { self: `/v1/refunds/${REFUND_ID}`, payment: base } };
const PENDING: RefundJson = { ...EXAMPLE_REFUND, state: 'pending', upstreamReference: null };
const FAILED: RefundJson = { ...EXAMPLE_REFUND, state: 'failed', upstreamReference: null, error: 'declined upstream' };
const refundLocation = { description: 'The refund: /v1/refunds/{refundId}', schema: { type: 'string' } };
const REFUNDED: PaymentJson = { ...EXAMPLE_PAYMENT, state: 'partially_refunded', version: 4, refundedMinor: 500, settledMinor: 1495, refunds: [EXAMPLE_REFUND] };

const idempotencyKey = { schema: idempotencyKeyHeader, description: 'A unique key per request (up to 128 printable characters): a retry with the same key and body answers the same result and never creates twice; the same key with another body is refused with 422' };
const image: JsonSchema = { type: 'string', contentMediaType: 'application/octet-stream', description: 'The image bytes' };
const imageResponses = {
  200: {
    description: "The QR image in the terminal's display profile (or the query's overrides)",
    headers: {
      ETag: { description: 'The first 22 base64url characters of the SHA-256 of the image bytes; send it back as If-None-Match', schema: { type: 'string' }, example: '"q3Yl0cJ8uW2fZp1oBv7xNk"' },
      'Cache-Control': { description: 'private, max-age=300', schema: { type: 'string' } },
    },
    content: { 'image/png': { schema: image }, 'image/jpeg': { schema: image }, 'image/webp': { schema: image } },
  },
  304: { description: 'Not modified: the If-None-Match ETag is the current image' },
};
const overrideDocs = { format: 'png, jpeg or webp', size: 'Edge in px, 64-2048', margin: 'Quiet zone in px, 0-256', colour: 'colour, greyscale or mono' };
const payments = ['payments'];

export const TERMINAL_OPERATIONS: readonly ApiOperation[] = [
  {
    method: 'get', path: '/v1/terminal', operationId: 'getTerminal', tags: ['terminal'],
    summary: 'Who this key is: terminal, store, merchant, display profile',
    responses: { 200: { description: 'The terminal', json: terminalJson, example: { id: 'TERM0001', storeId: 'STORE01', merchantId: 'PP-MERCHANT-1', displayProfile: { format: 'png', size: 320, margin: 16, colour: 'greyscale', quality: 85 }, tenderbridge: { version: '0.2.0', commit: null } } } },
  },
  {
    method: 'post', path: '/v1/payments', operationId: 'createPayment', tags: payments,
    summary: 'Create a payment and its PartPay order',
    description: 'A create that PartPay rejects or cannot be reached answers 502/503/504 with `error.details.paymentId` and leaves that payment `failed`: start again with a new Idempotency-Key.',
    headers: { 'Idempotency-Key': idempotencyKey },
    body: { id: 'CreatePayment', schema: createPaymentBody, required: true, example: { amountMinor: 1995, currency: 'NZD', merchantReference: 'SALE-0001' } },
    responses: {
      201: { description: 'Created', json: paymentJson, example: { ...OPEN_PAYMENT, version: 1, state: 'awaiting_customer' }, headers: { Location: { description: 'The payment', schema: { type: 'string' } } } },
      200: { description: 'A replay of the same Idempotency-Key and body: the payment it created', json: paymentJson, example: OPEN_PAYMENT, headers: { 'Idempotent-Replayed': { description: 'true', schema: { type: 'string', const: 'true' } } } },
    },
    errors: [422, 502, 504],
  },
  {
    method: 'get', path: '/v1/payments', operationId: 'listPayments', tags: payments,
    summary: "This terminal's payments, newest first, a page at a time",
    description: 'A page of at most `limit` payments, newest first (by createdAt, then id). When `has_more` is true, ask again with `starting_after` = the id of the last payment of `data` (the filters kept). `payments` repeats `data` for tills written before the cursor.',
    query: listPaymentsQuery,
    responses: { 200: { description: 'A page of payments', json: paymentListResponse, example: { data: [EXAMPLE_PAYMENT], has_more: false, payments: [EXAMPLE_PAYMENT] } } },
  },
  {
    method: 'get', path: '/v1/events', operationId: 'streamTerminalEvents', tags: payments,
    summary: "Server-Sent Events of every change of every payment of this terminal",
    description: "One event per journal entry of this terminal's payments: `payment.state_changed`, `refund.requested`, `refund.succeeded`, `refund.failed` (the SSE `event:` name is the `type`). `id:` is the journal sequence number, so a reconnect with `Last-Event-ID` (or a first connection with `?last_event_id=`) gets what it missed, then live changes. Without either, only changes from now on. A `shutdown` event says the daemon is restarting. An id after the newest event answers 400 (a restored database).",
    query: terminalEventsQuery,
    headers: { 'Last-Event-ID': { schema: z.string(), description: 'The id of the last event received (wins over last_event_id)' } },
    responses: {
      200: {
        description: 'An event stream',
        content: { 'text/event-stream': { schema: { type: 'string' }, 'x-events': { ...Object.fromEntries(TERMINAL_EVENT_TYPES.map((type) => [type, terminalEventData])), shutdown: terminalShutdownEventData } } },
        example: `retry: 3000\n\nid: 41\nevent: payment.state_changed\ndata: {"seq":41,"type":"payment.state_changed","at":"${at}","paymentId":"${ID}","merchantReference":"SALE-0001","from":"awaiting_customer","to":"approved","version":3,"payment":{"id":"${ID}","state":"approved",…}}\n\n`,
      },
    },
  },
  {
    method: 'get', path: '/v1/payments/{id}', operationId: 'getPayment', tags: payments,
    summary: 'The payment; with `wait`, a long-poll for its next change',
    description: 'With `wait=N` (0-60 s) the request is held until the payment\'s `version` passes `version` (without `version`: answers at once when the payment is final, else waits for its next change). It answers the current payment when the wait ends without a change.',
    params: paymentIdParam,
    query: getPaymentQuery,
    parameterDocs: { id: 'The payment id', wait: 'Seconds to wait for a change (0-60; capped by payments.maxWaitSeconds)', version: 'Wait until the version is greater than this (default: the current version)' },
    responses: { 200: { description: 'The payment', json: paymentJson, example: EXAMPLE_PAYMENT } },
  },
  {
    method: 'get', path: '/v1/payments/{id}/events', operationId: 'streamPaymentEvents', tags: payments,
    summary: "Server-Sent Events of the payment's changes",
    description: '`transition` events for past changes, then a `state` event with the whole payment on every change; the stream ends after a final state. `id:` is the version, so a reconnect with `Last-Event-ID` resumes. A `shutdown` event says the daemon is restarting.',
    params: paymentIdParam,
    parameterDocs: { id: 'The payment id' },
    headers: { 'Last-Event-ID': { schema: z.string(), description: 'The last version received: only later changes are sent' } },
    responses: {
      200: {
        description: 'An event stream',
        content: { 'text/event-stream': { schema: { type: 'string' }, 'x-events': { state: paymentJson, transition: transitionEventJson, shutdown: shutdownEventJson } } },
        example: `retry: 3000\n\nid: 2\nevent: transition\ndata: {"paymentId":"${ID}","from":"created","to":"awaiting_customer","version":2,"at":"${at}"}\n\nid: 3\nevent: state\ndata: {"id":"${ID}","state":"approved","version":3,…}\n\n`,
      },
    },
  },
  {
    method: 'get', path: '/v1/payments/{id}/qr', operationId: 'getPaymentQr', tags: payments,
    summary: "The payment's QR image",
    params: paymentIdParam,
    query: profileOverridesSchema,
    parameterDocs: { id: 'The payment id', ...overrideDocs },
    headers: { 'If-None-Match': { schema: z.string(), description: 'The ETag of the image the terminal has: 304 when unchanged' } },
    responses: imageResponses,
    errors: [502, 504],
  },
  {
    method: 'get', path: '/v1/payments/{id}/qr/text', operationId: 'getPaymentQrText', tags: payments,
    summary: "The text inside the payment's QR, for terminals that draw their own code",
    description: "Read from PartPay's image on the first ask, then kept on the payment as `qr.text`. 404 while the payment has no QR.",
    params: paymentIdParam,
    parameterDocs: { id: 'The payment id' },
    responses: { 200: { description: 'The text', json: qrTextJson, example: { text: 'https://pay.partpay.example/o/261121-000001' } } },
    errors: [502, 504],
  },
  {
    method: 'get', path: '/v1/qr-codes/{tranId}', operationId: 'getElectrumQr', tags: ['electrum'],
    summary: 'An Electrum QR code issued to this terminal (createQrCode), as an image',
    params: tranIdParam,
    query: profileOverridesSchema,
    parameterDocs: { tranId: 'The tranId from createQrCode', ...overrideDocs },
    headers: { 'If-None-Match': { schema: z.string(), description: 'The ETag of the image the terminal has: 304 when unchanged' } },
    responses: imageResponses,
  },
  {
    method: 'post', path: '/v1/payments/{id}/cancel', operationId: 'cancelPayment', tags: payments,
    summary: 'Cancel an open payment through its provider',
    description: 'The provider is asked first: if the customer approved at that moment, 409 `already_approved` (refund instead). If the provider cannot be reached the payment is cancelled here at once and the cancel retried from the outbox.',
    params: paymentIdParam,
    parameterDocs: { id: 'The payment id' },
    body: { id: 'CancelPayment', schema: cancelBody, required: false, example: {} },
    responses: { 200: { description: 'The cancelled payment', json: paymentJson, example: { ...OPEN_PAYMENT, state: 'cancelled', version: 3, final: true, finalAt: at } } },
    errors: [409, 502, 504],
  },
  {
    method: 'post', path: '/v1/payments/{id}/refunds', operationId: 'refundPayment', tags: payments,
    summary: 'Refund a paid payment through its provider',
    description: 'No amount refunds everything left. 201 when the provider confirmed, 202 when it is queued (delivered from the outbox with the same reference, never twice), 409 `refund_declined` with the failed refund and the payment.',
    params: paymentIdParam,
    parameterDocs: { id: 'The payment id' },
    headers: { 'Idempotency-Key': idempotencyKey },
    body: { id: 'RefundPayment', schema: refundBody, required: false, example: { amountMinor: 500, reason: 'returned item' } },
    responses: {
      201: { description: 'Refunded', json: refundResultJson, example: { refund: EXAMPLE_REFUND, payment: REFUNDED }, headers: { Location: refundLocation } },
      202: { description: 'Queued: the provider could not answer; it is delivered from the outbox', json: refundResultJson, example: { refund: PENDING, payment: { ...EXAMPLE_PAYMENT, version: 4, refunds: [PENDING] } }, headers: { Location: refundLocation } },
      409: { description: 'The provider declined the refund (refund_declined)', json: refundDeclinedJson, example: { error: { code: 'refund_declined', retryable: false, message: 'the refund was not made: declined upstream' }, refund: FAILED, payment: { ...EXAMPLE_PAYMENT, version: 4, refunds: [FAILED] } } },
    },
    errors: [409, 422, 502, 504],
  },
  {
    method: 'get', path: '/v1/payments/{id}/refunds', operationId: 'listPaymentRefunds', tags: payments,
    summary: "The payment's refunds, oldest first",
    params: paymentIdParam,
    parameterDocs: { id: 'The payment id' },
    responses: { 200: { description: 'Every refund of the payment, in one answer', json: refundListResponse, example: { data: [EXAMPLE_REFUND], has_more: false } } },
  },
  {
    method: 'get', path: '/v1/refunds/{id}', operationId: 'getRefund', tags: payments,
    summary: 'One refund of a payment of this terminal (a queued one too)',
    description: "Follow a queued refund (202) here until it is `succeeded` or `failed`. Another terminal's refund answers 404.",
    params: refundIdParam,
    parameterDocs: { id: 'The refund id (the Location of the refund request)' },
    responses: { 200: { description: 'The refund', json: refundResource, example: EXAMPLE_REFUND } },
  },
  {
    method: 'get', path: '/v1/openapi.json', operationId: 'getOpenApi', tags: ['contract'],
    summary: 'This document',
    responses: { 200: { description: 'The OpenAPI 3.1 document of /v1', content: { 'application/json': { schema: { type: 'object' } } } } },
  },
];
