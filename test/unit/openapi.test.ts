import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_CODES } from '../../src/shared/http/error-catalogue.js';
import { serializeDocument, terminalApiDocument } from '../../src/terminals/openapi.js';
import { EXAMPLE_PAYMENT, TERMINAL_OPERATIONS } from '../../src/terminals/operations.js';
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
    expect(answer({ status: 404, body: json({ error: { code: 'no_such_thing', message: 'x' } }) }).join('\n')).toMatch(/must be equal to one of the allowed values/);
    expect(answer({ status: 404, body: json({ error: { code: 'not_found', message: 'x' } }) })).toEqual([]);
  });

  it('fails an SSE event whose data breaks its schema, or an event the document does not name', () => {
    const sse = (events: string) => answer({ path: `/v1/payments/${EXAMPLE_PAYMENT.id}/events`, contentType: 'text/event-stream; charset=utf-8', body: `retry: 3000\n\n${events}` });
    expect(sse(`id: 3\nevent: state\ndata: ${json(EXAMPLE_PAYMENT)}\n\n`)).toEqual([]);
    expect(sse(`id: 3\nevent: state\ndata: ${json({ ...EXAMPLE_PAYMENT, state: 'paid' })}\n\n`).join('\n')).toMatch(/event state data\/state must be equal to one of the allowed values/);
    expect(sse(`event: surprise\ndata: {}\n\n`).join('\n')).toMatch(/event "surprise" is not in the document/);
  });

  it('fails an answer on a /v1 path the document lacks unless it is an error in the one shape', () => {
    expect(answer({ path: '/v1/nothing-here', status: 200, body: '{}' }).join('\n')).toMatch(/no operation GET \/v1\/nothing-here/);
    expect(answer({ path: '/v1/nothing-here', status: 404, body: json({ error: { code: 'not_found', message: 'no route GET /v1/nothing-here' } }) })).toEqual([]);
  });
});
