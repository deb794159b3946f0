import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_CODES } from '../../src/shared/http/error-catalogue.js';
import { serializeDocument, terminalApiDocument } from '../../src/terminals/openapi.js';
import { EXAMPLE_PAYMENT, TERMINAL_OPERATIONS } from '../../src/terminals/operations.js';
import { terminalEventData } from '../../src/terminals/till-schemas.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/owe.js';
import { createContractChecker, PACKAGE_VERSION } from '../support/contract.js';

const doc = terminalApiDocument(PACKAGE_VERSION);
const checker = createContractChecker(doc);
const json = (value: unknown) => JSON.stringify(value);
const answer = (over: Partial<Parameters<typeof checker.check>[0]>) => checker.check({ method: 'GET', path: `/v1/payments/${EXAMPLE_PAYMENT.id}`, status: 200, contentType: 'application/json; charset=utf-8', body: json(EXAMPLE_PAYMENT), ...over });

describe('the OpenAPI document of /v1', () => {
  it('is the committed docs/openapi.json (npm run build rewrites it)', () => {
    expect(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'), 'docs/openapi.json is stale: run npm run build and commit it').toBe(serializeDocument(doc));
  });

  it('is OpenAPI 3.1 with the terminal key scheme on every operation and an example for each', () => {
    expect(doc['openapi']).toMatch(/^3\.1\./);
    expect(doc['security']).toEqual([{ terminalKey: [] }]);
    expect((doc['components'] as { securitySchemes: unknown }).securitySchemes).toEqual({ terminalKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    for (const op of TERMINAL_OPERATIONS) {
      if (op.operationId === 'getOpenApi') continue;
      // An image has no JSON to show: its example is the ETag it is answered with.
      const examples = Object.values(op.responses).filter((r) => r.example !== undefined || Object.values(r.headers ?? {}).some((h) => h.example !== undefined));
      expect(examples.length, `${op.operationId} has no example answer`).toBeGreaterThan(0);
    }
  });

  it("every example parses with the very zod schema it illustrates", () => {
    for (const op of TERMINAL_OPERATIONS) {
      if (op.body) expect(op.body.schema.safeParse(op.body.example).success, `${op.operationId} request example`).toBe(true);
      for (const [status, r] of Object.entries(op.responses)) {
        if (r.json && r.example !== undefined) expect(z.safeParse(r.json, r.example).error?.issues ?? [], `${op.operationId} ${status} example`).toEqual([]);
      }
    }
  });

  it('every example answer also passes the document, through the same checker as the test suite', () => {
    for (const op of TERMINAL_OPERATIONS) {
      for (const [status, r] of Object.entries(op.responses)) {
        if (!r.json || r.example === undefined) continue;
        const path = op.path.replace('{id}', EXAMPLE_PAYMENT.id).replace('{tranId}', 'TRAN1');
        expect(checker.check({ method: op.method.toUpperCase(), path, status: Number(status), contentType: 'application/json', body: json(r.example) })).toEqual([]);
      }
    }
  });

  it("names every error code of the catalogue, each under its status, and README's error list names them all", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const schemas = (doc['components'] as { schemas: Record<string, { properties: { error: { properties: { code: { enum: string[] } } } } }> }).schemas;
    for (const { code, status } of ERROR_CODES) expect(schemas[`Error${status}`]?.properties.error.properties.code.enum, code).toContain(code);
    expect(ERROR_CODES.filter(({ code }) => !readme.includes(`\`${code}\``)).map((e) => e.code), 'codes README does not name').toEqual([]);
  });

  it('describes the idempotency header, the long-poll query, the SSE stream and the QR images', () => {
    const paths = doc['paths'] as Record<string, Record<string, { parameters: { name: string; in: string }[]; responses: Record<string, { content?: Record<string, unknown> }> }>>;
    expect(paths['/v1/payments']?.['post']?.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
    expect(paths['/v1/payments/{id}']?.['get']?.parameters.map((p) => p.name)).toEqual(['id', 'wait', 'version']);
    expect(Object.keys(paths['/v1/payments/{id}/events']?.['get']?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    expect(Object.keys(paths['/v1/payments/{id}/qr']?.['get']?.responses['200']?.content ?? {})).toEqual(['image/png', 'image/jpeg', 'image/webp']);
    expect(Object.keys(paths['/v1/qr-codes/{tranId}']?.['get']?.responses ?? {})).toContain('304');
  });

  it("describes the till's API: the page's query, refunds by payment and by id, and every event of /v1/events under x-events", () => {
    const paths = doc['paths'] as Record<string, Record<string, { parameters: { name: string; in: string }[]; responses: Record<string, { content?: Record<string, { schema?: unknown; 'x-events'?: Record<string, unknown> }>; headers?: Record<string, unknown> }> }>>;
    expect(paths['/v1/payments']?.['get']?.parameters.map((p) => p.name)).toEqual(['limit', 'starting_after', 'state', 'created_gte', 'created_lt', 'merchantReference']);
    expect(paths['/v1/payments']?.['get']?.responses['200']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/PaymentList' });
    expect(paths['/v1/payments/{id}/refunds']?.['get']?.responses['200']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/RefundList' });
    expect(paths['/v1/refunds/{id}']?.['get']?.responses['200']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Refund' });
    expect(Object.keys(paths['/v1/payments/{id}/refunds']?.['post']?.responses['202']?.headers ?? {})).toEqual(['Location']);
    const events = paths['/v1/events']?.['get'];
    expect(events?.parameters.map((p) => `${p.in} ${p.name}`)).toEqual(['query last_event_id', 'header Last-Event-ID']);
    expect(events?.responses['200']?.content?.['text/event-stream']?.['x-events']).toEqual({
      'payment.state_changed': { $ref: '#/components/schemas/TerminalEvent' },
      'refund.requested': { $ref: '#/components/schemas/TerminalEvent' },
      'refund.succeeded': { $ref: '#/components/schemas/TerminalEvent' },
      'refund.failed': { $ref: '#/components/schemas/TerminalEvent' },
      shutdown: { $ref: '#/components/schemas/TerminalShutdownEvent' },
    });
    // The list's payments are the whole Payment, refunds included (no placeholder).
    const schemas = (doc['components'] as { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> }).schemas;
    expect(schemas['PaymentList']?.properties['data']).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Payment' }, description: expect.any(String) });
    expect(schemas['Payment']?.required).toContain('refunds');
  });

  it('says retryable in every error body and documents Retry-After on the statuses that send it', () => {
    const schemas = (doc['components'] as { schemas: Record<string, { properties: { error: { required: string[] } } }> }).schemas;
    for (const id of Object.keys(schemas).filter((k) => /^Error\d+$/.test(k))) expect(schemas[id]?.properties.error.required, id).toContain('retryable');
    const paths = doc['paths'] as Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>;
    const create = paths['/v1/payments']?.['post']?.responses ?? {};
    for (const status of ['429', '500', '502', '503', '504']) expect(Object.keys(create[status]?.headers ?? {}), status).toEqual(['Retry-After']);
    for (const status of ['400', '401', '404', '409', '422']) expect(create[status]?.headers, status).toBeUndefined();
  });
});

describe('the contract check (what every /v1 answer in the test suite goes through)', () => {
  it('passes a payment that fits', () => {
    expect(answer({})).toEqual([]);
  });

  it('fails a body that breaks the schema: a wrong type, a missing field, an unknown field', () => {
    expect(answer({ body: json({ ...EXAMPLE_PAYMENT, amountMinor: '19.95' }) }).join('\n')).toMatch(/amountMinor must be integer/);
    const { settledMinor: _, ...missing } = EXAMPLE_PAYMENT;
    expect(answer({ body: json(missing) }).join('\n')).toMatch(/must have required property 'settledMinor'/);
    expect(answer({ body: json({ ...EXAMPLE_PAYMENT, secret: 'x' }) }).join('\n')).toMatch(/must NOT have additional properties/);
  });

  it('fails a status, media type or error code the document does not have', () => {
    expect(answer({ status: 418 }).join('\n')).toMatch(/status 418 is not documented/);
    expect(answer({ contentType: 'text/html' }).join('\n')).toMatch(/media type text\/html is not documented/);
    expect(answer({ status: 404, body: json({ error: { code: 'no_such_thing', message: 'x', retryable: false } }) }).join('\n')).toMatch(/must be equal to one of the allowed values/);
    expect(answer({ status: 404, body: json({ error: { code: 'not_found', message: 'x', retryable: false } }) })).toEqual([]);
    expect(answer({ status: 404, body: json({ error: { code: 'not_found', message: 'x' } }) }).join('\n')).toMatch(/must have required property 'retryable'/);
  });

  it('fails an SSE event whose data breaks its schema, or an event the document does not name', () => {
    const sse = (events: string) => answer({ path: `/v1/payments/${EXAMPLE_PAYMENT.id}/events`, contentType: 'text/event-stream; charset=utf-8', body: `retry: 3000\n\n${events}` });
    expect(sse(`id: 3\nevent: state\ndata: ${json(EXAMPLE_PAYMENT)}\n\n`)).toEqual([]);
    expect(sse(`id: 3\nevent: state\ndata: ${json({ ...EXAMPLE_PAYMENT, state: 'paid' })}\n\n`).join('\n')).toMatch(/event state data\/state must be equal to one of the allowed values/);
    expect(sse(`event: surprise\ndata: {}\n\n`).join('\n')).toMatch(/event "surprise" is not in the document/);
  });

  it("checks /v1/events' events by their type: a refund event without its refund's fields fails", () => {
    const events = (block: string) => answer({ path: '/v1/events', contentType: 'text/event-stream; charset=utf-8', body: `retry: 3000\n\n${block}` });
    const changed = { seq: 41, type: 'payment.state_changed', at: EXAMPLE_PAYMENT.createdAt, paymentId: EXAMPLE_PAYMENT.id, merchantReference: 'SALE-0001', from: 'awaiting_customer', to: 'approved', version: 3, payment: EXAMPLE_PAYMENT };
    expect(events(`id: 41\nevent: payment.state_changed\ndata: ${json(changed)}\n\nevent: shutdown\ndata: ${json({ reason: 'restarting', lastEventId: 41 })}\n\n`)).toEqual([]);
    expect(events(`id: 42\nevent: refund.requested\ndata: ${json({ ...changed, type: 'refund.requested', refund: { id: 'x' } })}\n\n`).join('\n')).toMatch(/event refund.requested data\/refund/);
    expect(events(`event: shutdown\ndata: ${json({ reason: 'restarting', final: true })}\n\n`).join('\n')).toMatch(/event shutdown data/);
  });

  it('checks a CORS preflight on any path by the root x-preflight: 204 empty, or 403 origin_not_allowed', () => {
    const preflight = (over: Partial<Parameters<typeof checker.check>[0]>) => answer({ method: 'OPTIONS', path: '/v1/payments', status: 204, contentType: null, body: '', ...over });
    expect(preflight({})).toEqual([]);
    expect(preflight({ path: `/v1/refunds/${EXAMPLE_PAYMENT.id}` })).toEqual([]);
    expect(preflight({ status: 403, contentType: 'application/json', body: json({ error: { code: 'origin_not_allowed', message: 'x', retryable: false } }) })).toEqual([]);
    expect(preflight({ status: 200, contentType: 'text/plain', body: 'GET,HEAD' }).join('\n')).toMatch(/status 200 is not documented for OPTIONS x-preflight/);
    expect(preflight({ body: 'hello' }).join('\n')).toMatch(/the document says no body/);
  });

  it('describes a webhook per event type the daemon POSTs, its body the /v1/events event schema, its example valid, signed', () => {
    const webhooks = doc['webhooks'] as Record<string, { post: { parameters: Array<{ name: string; required: boolean }>; requestBody: { content: { 'application/json': { schema: unknown; example: unknown } } }; security: unknown[] } }>;
    expect(Object.keys(webhooks)).toEqual([...WEBHOOK_EVENT_TYPES]);
    for (const [type, { post }] of Object.entries(webhooks)) {
      const body = post.requestBody.content['application/json'];
      expect(body.schema).toEqual({ $ref: '#/components/schemas/TerminalEvent' });
      expect(terminalEventData.parse(body.example).type).toBe(type);
      expect(post.parameters.filter((p) => p.required).map((p) => p.name)).toEqual(['Tenderbridge-Signature', 'Tenderbridge-Event-Id', 'Tenderbridge-Event-Type', 'Tenderbridge-Webhook-Id']);
      expect(post.security).toEqual([]);
    }
  });

  it('fails an answer on a /v1 path the document lacks unless it is an error in the one shape', () => {
    expect(answer({ path: '/v1/nothing-here', status: 200, body: '{}' }).join('\n')).toMatch(/no operation GET \/v1\/nothing-here/);
    expect(answer({ path: '/v1/nothing-here', status: 404, body: json({ error: { code: 'not_found', message: 'no route GET /v1/nothing-here', retryable: false } }) })).toEqual([]);
  });
});
