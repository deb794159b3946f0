import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient, OPERATIONS, type OperationId, type TenderbridgeClient } from '../../clients/typescript/src/index.js';
import { NOT_WRAPPED } from '../../clients/typescript/src/operations.js';
import { schemaCompiler } from '../support/contract.js';

// The typed client against the OpenAPI document (docs/openapi.json, generated from the zod
// schemas its types are inferred from): every operation of the document is wrapped, at the
// method and path the document gives it, and what the client sends (query parameters,
// headers, JSON bodies) is what the document declares. A loopback server answers each request
// with the document's own example, so the client also reads what the document says comes back.

type Parameter = { name: string; in: 'path' | 'query' | 'header'; required?: boolean };
type Operation = { operationId: string; parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: object }> }; responses: Record<string, { content?: Record<string, { example?: unknown; 'x-events'?: Record<string, unknown> }> }> };
const doc = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, Operation>>; components: object };
const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op, re: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`) })));

const bodyValidator = schemaCompiler(doc as unknown as Record<string, unknown>);

interface Seen {
  operationId: string | null;
  method: string;
  path: string;
  query: string[];
  headers: Record<string, string>;
  body: string;
}
const seen: Seen[] = [];
let server: Server;
let tb: TenderbridgeClient;

/** The document's answer to a request: the example of its first 2xx response (one event per declared name for a stream). */
function answer(op: Operation | undefined): { status: number; type: string; body: string | Buffer } {
  const [status, response] = Object.entries(op?.responses ?? {}).find(([s]) => s.startsWith('2')) ?? ['404', {}];
  const [type, media] = Object.entries(response.content ?? {})[0] ?? ['application/json', {}];
  if (type === 'text/event-stream') {
    const events = Object.keys(media['x-events'] ?? {}).map((name, i) => `${name === 'shutdown' ? '' : `id: ${i + 1}\n`}event: ${name}\ndata: {}\n\n`);
    return { status: Number(status), type, body: `retry: 60000\n\n${events.join('')}` };
  }
  if (type.startsWith('image/')) return { status: Number(status), type, body: Buffer.from([0x89, 0x50, 0x4e, 0x47]) };
  return { status: Number(status), type, body: JSON.stringify(media.example ?? {}) };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const found = operations.find((o) => o.method === req.method && o.re.test(url.pathname));
      seen.push({ operationId: found?.op.operationId ?? null, method: req.method ?? '', path: url.pathname, query: [...url.searchParams.keys()], headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      const a = answer(found?.op);
      res.writeHead(a.status, { 'Content-Type': a.type }).end(a.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  tb = createClient({ baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, terminalKey: 'conformance-key', maxRetries: 0 });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

it('wraps every operation of the document, at the method and path the document gives it', () => {
  const documented = operations.map((o) => o.op.operationId).sort();
  expect([...Object.keys(OPERATIONS), ...Object.keys(NOT_WRAPPED)].sort()).toEqual(documented);
  for (const [id, { method, path }] of Object.entries(OPERATIONS)) {
    expect(doc.paths[path]?.[method.toLowerCase()]?.operationId, `${id}: ${method} ${path}`).toBe(id);
  }
});

const ID = '6102cc0a-5d2e-4c59-9a37-1f0e8d2b7c41';
const first = async <T>(events: AsyncIterable<T>, count: number): Promise<T[]> => {
  const got: T[] = [];
  for await (const e of events) if (got.push(e) >= count) break;
  return got;
};

it('sends only what the document declares, and reads what it says comes back', async () => {
  const calls: Record<OperationId, () => Promise<unknown>> = {
    getTerminal: () => tb.terminal(),
    createPayment: () => tb.createPayment({ amountMinor: 1995, currency: 'NZD', merchantReference: 'SALE-1', provider: 'partpay' }),
    listPayments: async () => [await tb.listPaymentsPage({ limit: 2, starting_after: ID, state: 'final', created_gte: '2026-12-01T00:00:00Z', created_lt: '2026-12-02T00:00:00+13:00', merchantReference: 'SALE-1' }), await first(tb.listPayments({ state: 'approved' }), 1)],
    streamTerminalEvents: () => first(tb.events({ lastEventId: '5' }), 5),
    getPayment: async () => [await tb.getPayment(ID), await tb.waitForChange(ID, { version: 2, seconds: 5 })],
    streamPaymentEvents: () => first(tb.paymentEvents(ID, { lastEventId: '1' }), 3),
    getPaymentQr: () => tb.paymentQrImage(ID, { format: 'png', size: 256, margin: 8, colour: 'mono' }),
    getPaymentQrText: () => tb.paymentQrText(ID),
    getElectrumQr: () => tb.electrumQrImage('tran-1', { size: 200 }),
    cancelPayment: () => tb.cancelPayment(ID),
    refundPayment: () => tb.refundPayment(ID, { amountMinor: 500, reason: 'returned item' }),
    listPaymentRefunds: () => tb.paymentRefunds(ID),
    getRefund: () => tb.getRefund(ID),
  };
  const results: Record<string, unknown> = {};
  for (const [id, run] of Object.entries(calls)) results[id] = await run();

  expect(new Set(seen.map((s) => s.operationId))).toEqual(new Set(Object.keys(OPERATIONS)));
  const example = (id: string) => {
    const o = operations.find((x) => x.op.operationId === id);
    return answer(o?.op).body;
  };
  expect(results['getTerminal']).toEqual(JSON.parse(example('getTerminal') as string));
  expect(results['getPaymentQrText']).toBe((JSON.parse(example('getPaymentQrText') as string) as { text: string }).text);
  // Every event name the document declares is one the client hands on (none dropped as unknown).
  expect((results['streamTerminalEvents'] as Array<{ type: string }>).map((e) => e.type)).toEqual(Object.keys(operations.find((o) => o.op.operationId === 'streamTerminalEvents')?.op.responses['200']?.content?.['text/event-stream']?.['x-events'] ?? {}));
  expect((results['streamPaymentEvents'] as Array<{ type: string }>).map((e) => e.type).sort()).toEqual(['shutdown', 'state', 'transition']);

  for (const s of seen) {
    const op = operations.find((o) => o.op.operationId === s.operationId)?.op as Operation;
    const declared = (where: Parameter['in']) => (op.parameters ?? []).filter((p) => p.in === where).map((p) => p.name.toLowerCase());
    expect(s.query.filter((q) => !declared('query').includes(q.toLowerCase())), `${s.operationId}: undeclared query parameters`).toEqual([]);
    const sent = Object.keys(s.headers).filter((name) => !['host', 'connection', 'authorization', 'content-type', 'content-length', 'accept', 'accept-encoding', 'accept-language', 'user-agent', 'sec-fetch-mode'].includes(name));
    expect(sent.filter((name) => !declared('header').includes(name)), `${s.operationId}: undeclared headers`).toEqual([]);
    expect(s.headers['authorization']).toBe('Bearer conformance-key');
    if (s.body) {
      const schema = op.requestBody?.content['application/json']?.schema;
      expect(schema, `${s.operationId} sends a body the document does not take`).toBeDefined();
      const validate = bodyValidator(schema as Record<string, unknown>);
      expect(validate(JSON.parse(s.body)), `${s.operationId}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(s.headers['content-type']).toBe('application/json');
    }
  }
  // The operations that document an Idempotency-Key get one from the client.
  for (const s of seen.filter((x) => (operations.find((o) => o.op.operationId === x.operationId)?.op.parameters ?? []).some((p) => p.name === 'Idempotency-Key'))) {
    expect(s.headers['idempotency-key'], s.operationId ?? '').toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  expect(seen.find((s) => s.operationId === 'streamTerminalEvents')?.headers['last-event-id']).toBe('5');
});
