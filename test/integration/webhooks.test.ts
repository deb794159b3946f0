import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, maskedConfig } from '../../src/shared/config/load.js';
import { createLogger } from '../../src/shared/logger.js';
import { terminalEventData } from '../../src/terminals/till-schemas.js';
import { createWebhookDelivery } from '../../src/webhooks/deliver.js';
import type { OutboxItem } from '../../src/outbox/repository.js';
import { schemaCompiler } from '../support/contract.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { operatorAuth, OPERATOR } from '../web/support.js';

/** A receiver on loopback: records every delivery and answers with the next status of its script (then `fallback`). */
interface Receiver {
  url: string;
  got: Array<{ headers: IncomingHttpHeaders; body: string; status: number }>;
  script: number[];
  fallback: number;
  close(): Promise<void>;
}

async function startReceiver(fallback = 200): Promise<Receiver> {
  const receiver: Omit<Receiver, 'url' | 'close'> = { got: [], script: [], fallback };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = receiver.script.shift() ?? receiver.fallback;
      receiver.got.push({ headers: req.headers, body, status });
      res.writeHead(status).end(status < 300 ? '' : 'not now');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** The README's verification snippet, run as printed (the first js block of its "Webhooks" section). */
function readmeVerifier(): (rawBody: string, header: string | undefined, secret: string, nowSeconds?: number) => boolean {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Webhooks\n'));
  const code = /```js\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 5)))?.[1];
  if (!code) throw new Error('README has no js block in its Webhooks section');
  return new Function('require', `${code}\nreturn verifyTenderbridgeSignature;`)(createRequire(import.meta.url)) as ReturnType<typeof readmeVerifier>;
}

/**
 * What breaks the document's description of a webhook (docs/openapi.json, top-level `webhooks`,
 * generated from the zod schema the deliverer builds the body with): the body against its
 * schema, each header it declares against that header's schema. Empty when the delivery matches.
 */
function webhookProblems(): (d: { headers: IncomingHttpHeaders; body: string }) => string[] {
  type Hook = { post: { parameters: Array<{ name: string; in: string; required: boolean; schema: object }>; requestBody: { content: { 'application/json': { schema: object } } } } };
  const doc = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as { webhooks?: Record<string, Hook>; components: Record<string, unknown> };
  const compile = schemaCompiler(doc);
  return (d) => {
    const body = JSON.parse(d.body) as { type: string };
    const hook = doc.webhooks?.[body.type]?.post;
    if (!hook) return [`the document has no webhook ${body.type}`];
    const problems: string[] = [];
    const validateBody = compile(hook.requestBody.content['application/json'].schema as Record<string, unknown>);
    if (!validateBody(body)) problems.push(`body: ${JSON.stringify(validateBody.errors)}`);
    for (const header of hook.parameters) {
      const value = d.headers[header.name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`header ${header.name} is missing`);
        continue;
      }
      const validate = compile(header.schema as Record<string, unknown>);
      if (!validate(value)) problems.push(`header ${header.name}: ${JSON.stringify(validate.errors)}`);
    }
    return problems;
  };
}
const documented = webhookProblems();

const SECRET_TILL = 'whsec-till-one-never-logged-0123';
const SECRET_FLAKY = 'whsec-flaky-never-logged-456789';
const SECRET_DOWN = 'whsec-down-never-logged-abcdefgh';

let h: Harness;
let till: Receiver;
let flaky: Receiver;
let down: Receiver;
const verify = readmeVerifier();

beforeAll(async () => {
  [till, flaky, down] = await Promise.all([startReceiver(), startReceiver(), startReceiver(503)]);
  h = await startHarness({
    config: {
      webhooks: {
        network: { allowLoopbackHttp: true },
        timeoutMs: 2000,
        endpoints: [
          { id: 'till-1', url: till.url, secret: SECRET_TILL, terminals: ['TERM0001'] },
          { id: 'flaky', url: flaky.url, secret: SECRET_FLAKY, terminals: ['TERM0002'] },
          { id: 'down', url: down.url, secret: SECRET_DOWN, stores: ['S9'], terminals: ['TERM0002'] },
        ],
      },
      ops: { operators: [{ name: OPERATOR.name, password: OPERATOR.password }] },
    },
    extraSecrets: [SECRET_TILL, SECRET_FLAKY, SECRET_DOWN, OPERATOR.password],
  });
});
afterAll(async () => {
  await h.stop();
  await Promise.all([till.close(), flaky.close(), down.close()]);
});

const create = async (terminal: 1 | 2, ref: string) =>
  (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(terminal), json: { amountMinor: 1250, currency: 'NZD', merchantReference: ref } })).body;
const deliveriesOf = (r: Receiver, paymentId: string) => r.got.filter((d) => (JSON.parse(d.body) as { paymentId: string }).paymentId === paymentId);
const webhookRows = async (paymentId: string, endpoint?: string) => (await h.daemon.store.repos.outbox.ofPayment(paymentId)).filter((o) => o.kind === 'webhook' && (endpoint === undefined || o.payload['endpoint'] === endpoint));

describe('signed webhooks of payment state changes', () => {
  it('POSTs each committed state change of a matching payment, signed as the README verifies, in the /v1/events shape', async () => {
    const p = await create(1, 'WH-1');
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(() => deliveriesOf(till, p.id).some((d) => (JSON.parse(d.body) as { to: string }).to === 'approved'));
    const got = deliveriesOf(till, p.id);
    expect(got.map((d) => (JSON.parse(d.body) as { to: string }).to)).toEqual(['created', 'awaiting_customer', 'approved']);
    for (const d of got) {
      expect(documented(d)).toEqual([]);
      expect(verify(d.body, d.headers['tenderbridge-signature'] as string, SECRET_TILL)).toBe(true);
      const event = terminalEventData.parse(JSON.parse(d.body));
      expect(event.type).toBe('payment.state_changed');
      expect(d.headers['tenderbridge-event-id']).toBe(String(event.seq));
      expect(d.headers['tenderbridge-event-type']).toBe('payment.state_changed');
      expect(d.headers['tenderbridge-webhook-id']).toBe('till-1');
      expect(d.headers['content-type']).toBe('application/json');
      expect(event.payment?.id).toBe(p.id);
    }
    // The event ids are the journal's: what GET /v1/events sends for the same changes.
    const journal = (await h.daemon.store.repos.payments.events(p.id)).filter((e) => e.kind === 'state_changed').map((e) => String(e.seq));
    expect(got.map((d) => d.headers['tenderbridge-event-id'])).toEqual(journal);
    // The snippet refuses a wrong secret, a changed body, and a signature older than five minutes.
    const first = got[0] as Receiver['got'][number];
    const header = first.headers['tenderbridge-signature'] as string;
    const t = Number(/t=(\d+)/.exec(header)?.[1]);
    expect(verify(first.body, header, 'another-secret-of-sixteen')).toBe(false);
    expect(verify(first.body.replace('WH-1', 'WH-2'), header, SECRET_TILL)).toBe(false);
    expect(verify(first.body, header, SECRET_TILL, t + 301)).toBe(false);
    expect(verify(first.body, header, SECRET_TILL, t + 299)).toBe(true);
    expect(verify(first.body, undefined, SECRET_TILL)).toBe(false);
    // The receiver records a POST before it answers: the row is done once the deliverer has read the answer.
    await eventually(async () => (await webhookRows(p.id)).every((o) => o.state === 'done'));
    expect((await webhookRows(p.id)).map((o) => o.attempts)).toEqual([1, 1, 1]);
  });

  it("POSTs refund.succeeded and refund.failed, owed with the refund's settle, as the document describes", async () => {
    const p = await create(1, 'WH-REFUND');
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(() => deliveriesOf(till, p.id).some((d) => (JSON.parse(d.body) as { to?: string }).to === 'approved'));
    const made = await call<{ refund: { id: string } }>(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(1), json: { amountMinor: 300, reason: 'returned item' } });
    expect(made.status, made.text).toBe(201);
    h.sim.setRefundMode('declined');
    try {
      const declined = await call<{ refund: { id: string } }>(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(1), json: { amountMinor: 200 } });
      expect(declined.status, declined.text).toBe(409);
      type Event = { seq: number; type: string; to?: string; refund?: { id: string; state: string; amountMinor: number } | null; payment: { refundedMinor: number } | null };
      const events = () => deliveriesOf(till, p.id).map((d) => JSON.parse(d.body) as Event).sort((a, b) => a.seq - b.seq);
      await eventually(() => events().some((e) => e.type === 'refund.failed'));
      const got = events();
      // Each state change and each settled refund, in journal order; a refund's request is not sent.
      expect(got.map((e) => (e.type === 'payment.state_changed' ? e.to : e.type))).toEqual(['created', 'awaiting_customer', 'approved', 'refund.succeeded', 'partially_refunded', 'refund.failed']);
      expect(got.find((e) => e.type === 'refund.succeeded')?.refund).toMatchObject({ id: made.body.refund.id, state: 'succeeded', amountMinor: 300 });
      expect(got.find((e) => e.type === 'refund.failed')?.refund).toMatchObject({ id: declined.body.refund.id, state: 'failed', amountMinor: 200 });
      // The event ids are the journal's entries of the settle and of the failure.
      const journal = await h.daemon.store.repos.payments.events(p.id);
      expect(journal.find((e) => e.kind === 'refund_settled')?.seq).toBe(got.find((e) => e.type === 'refund.succeeded')?.seq);
      expect(journal.find((e) => e.kind === 'upstream_error' && e.detail?.['refundId'] === declined.body.refund.id)?.seq).toBe(got.find((e) => e.type === 'refund.failed')?.seq);
      for (const d of deliveriesOf(till, p.id)) {
        expect(documented(d)).toEqual([]);
        expect(verify(d.body, d.headers['tenderbridge-signature'] as string, SECRET_TILL)).toBe(true);
        expect(d.headers['tenderbridge-event-type']).toBe((JSON.parse(d.body) as Event).type);
      }
    } finally {
      h.sim.setRefundMode('succeeded');
    }
  });

  it('retries after a 500 with the same event id, and delivers each event once it is answered 2xx', async () => {
    flaky.script.push(500);
    const p = await create(2, 'WH-FLAKY');
    await eventually(async () => {
      await h.daemon.deliverer.run();
      const rows = await webhookRows(p.id, 'flaky');
      return rows.length === 2 && rows.every((o) => o.state === 'done');
    });
    const got = deliveriesOf(flaky, p.id);
    const failed = got.filter((d) => d.status === 500);
    expect(failed).toHaveLength(1);
    const ids = got.map((d) => d.headers['tenderbridge-event-id']);
    // The failed event came again with its id; each event was answered 2xx exactly once.
    expect(ids.filter((id) => id === failed[0]?.headers['tenderbridge-event-id'])).toHaveLength(2);
    const okIds = got.filter((d) => d.status === 200).map((d) => d.headers['tenderbridge-event-id']);
    expect(new Set(okIds).size).toBe(okIds.length);
    expect(okIds.sort()).toEqual((await webhookRows(p.id, 'flaky')).map((o) => String(o.payload['seq'])).sort());
    for (const d of got) expect(verify(d.body, d.headers['tenderbridge-signature'] as string, SECRET_FLAKY)).toBe(true);
    expect((await webhookRows(p.id, 'flaky')).map((o) => o.attempts).sort()).toEqual([1, 2]);
    // No delivery to the other terminal's endpoint.
    expect(deliveriesOf(till, p.id)).toEqual([]);
  });

  it('owes nothing to an endpoint whose terminals and stores do not match the payment', async () => {
    const p = await create(1, 'WH-NOMATCH');
    await eventually(() => deliveriesOf(till, p.id).length === 2);
    expect((await webhookRows(p.id)).map((o) => o.payload['endpoint'])).toEqual(['till-1', 'till-1']);
    expect(deliveriesOf(flaky, p.id)).toEqual([]);
    expect(deliveriesOf(down, p.id)).toEqual([]);
  });

  it('makes a dead letter after outbox.maxAttempts, shown in the console as a webhook and retryable there', async () => {
    const p = await create(2, 'WH-DOWN');
    await eventually(async () => {
      await h.daemon.deliverer.run();
      const rows = await webhookRows(p.id, 'down');
      return rows.length === 2 && rows.every((o) => o.state === 'dead');
    });
    const [row] = (await webhookRows(p.id, 'down')) as [OutboxItem];
    const id = row.id;
    const seq = Number(row.payload['seq']);
    // outbox.maxAttempts is 5 in the harness: five POSTs of the same event, then no more.
    expect(down.got.filter((d) => d.headers['tenderbridge-event-id'] === String(seq)).map((d) => d.status)).toEqual([503, 503, 503, 503, 503]);
    const auth = { Authorization: operatorAuth() };
    const list = await call<{ items: Array<{ id: number; kind: string; state: string; lastError: string }> }>(`${h.url}/console/api/outbox?state=dead`, { headers: auth });
    const item = list.body.items.find((o) => o.id === id);
    expect(item).toMatchObject({ kind: 'webhook', state: 'dead', lastError: 'gave up after retries: webhook down: HTTP 503' });
    down.fallback = 204;
    const retried = await call<{ item: { state: string } }>(`${h.url}/console/api/outbox/${id}/retry`, { headers: auth, json: {} });
    expect(retried.status).toBe(200);
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return (await h.daemon.store.repos.outbox.get(id))?.state === 'done';
    });
    expect(down.got.filter((d) => d.headers['tenderbridge-event-id'] === String(seq)).map((d) => d.status)).toEqual([503, 503, 503, 503, 503, 204]);
  });

  it('never logs a signing secret, and prints only where it comes from', () => {
    for (const secret of [SECRET_TILL, SECRET_FLAKY, SECRET_DOWN]) expect(h.logs.some((line) => line.includes(secret))).toBe(false);
    expect(h.logs.some((line) => line.includes('"webhookId":"till-1"'))).toBe(true);
    const cfg = parseConfig(minimal([{ id: 'a', url: 'https://hooks.example/x', secret: { env: 'TB_HOOK' } }, { id: 'b', url: 'https://hooks.example/y', secret: SECRET_TILL }]), ctx({ TB_HOOK: SECRET_FLAKY }));
    expect(cfg.webhooks.endpoints.map((e) => e.secret)).toEqual([SECRET_FLAKY, SECRET_TILL]);
    const masked = JSON.stringify(maskedConfig(cfg.raw));
    expect(masked).not.toContain(SECRET_TILL);
    expect(masked).toContain('[env TB_HOOK]');
    expect(masked).toContain('[inline secret]');
  });
});

const minimal = (endpoints: unknown[], network?: unknown) => ({
  partpay: { tokenUrl: 'http://127.0.0.1:1/oauth/token', audience: 'aud', apiBaseUrl: 'http://127.0.0.1:1/api' },
  merchants: [{ id: 'm1', name: 'M', partpayMerchantId: 'PP', clientId: 'c', clientSecret: 's', callbackKeys: ['k'], currency: 'NZD' }],
  webhooks: { endpoints, ...(network ? { network } : {}) },
});
const ctx = (env: Record<string, string> = {}) => ({ source: 'webhooks.json', env, configDir: '/nonexistent' });
const problems = (value: unknown): string[] => {
  try {
    parseConfig(value, ctx());
  } catch (error) {
    return (error as { problems?: string[] }).problems ?? [String(error)];
  }
  return [];
};

describe('webhook config and egress policy', () => {
  it('refuses metadata, internal and loopback URLs when the config is loaded, naming the key that would allow them', () => {
    expect(problems(minimal([{ id: 'a', url: 'https://169.254.169.254/latest', secret: SECRET_TILL }]))).toEqual([
      'webhooks.endpoints[0].url: 169.254.169.254 is a link-local address, not allowed by webhooks.network.allowedAddresses',
    ]);
    expect(problems(minimal([{ id: 'a', url: 'https://10.1.2.3/hook', secret: SECRET_TILL }]))).toEqual(['webhooks.endpoints[0].url: 10.1.2.3 is a private address, not allowed by webhooks.network.allowedAddresses']);
    expect(problems(minimal([{ id: 'a', url: 'http://hooks.example/x', secret: SECRET_TILL }]))[0]).toMatch(/^webhooks\.endpoints\[0\]\.url: http:\/\/ is refused: https only \(webhooks\.network\.allowLoopbackHttp/);
    expect(problems(minimal([{ id: 'a', url: 'https://localhost:9000/x', secret: SECRET_TILL }]))[0]).toMatch(/^webhooks\.endpoints\[0\]\.url: localhost resolves to 127\.0\.0\.1, a loopback address/);
    expect(problems(minimal([{ id: 'a', url: 'https://10.1.2.3/hook', secret: SECRET_TILL }], { allowedAddresses: ['10.1.0.0/16'] }))).toEqual([]);
  });

  it('refuses short secrets, missing secret sources, duplicate ids and URLs with credentials, precisely', () => {
    expect(problems(minimal([{ id: 'a', url: 'https://hooks.example/x', secret: 'short' }]))).toEqual([
      'webhooks.endpoints[0].secret: must be at least 16 characters (it is 5); generate one with: openssl rand -hex 32',
    ]);
    expect(problems(minimal([{ id: 'a', url: 'https://hooks.example/x', secret: { env: 'NOPE' } }]))).toEqual(['webhooks.endpoints[0].secret: environment variable NOPE is not set']);
    expect(problems(minimal([{ id: 'a', url: 'https://u:p@hooks.example/x', secret: SECRET_TILL }]))).toEqual([
      'webhooks.endpoints[0].url: must not carry credentials (user:password@); the signature authenticates deliveries',
    ]);
    expect(
      problems(
        minimal([
          { id: 'a', url: 'https://hooks.example/x', secret: SECRET_TILL },
          { id: 'a', url: 'https://hooks.example/y', secret: SECRET_TILL },
        ]),
      ),
    ).toEqual(['webhooks.endpoints[1].id: duplicate id "a"']);
    expect(problems(minimal([{ id: 'a', url: 'https://hooks.example/x', secret: SECRET_TILL, terminals: [] }]))).toEqual([
      'webhooks.endpoints[0].terminals: must name at least one terminal, or be left out for every terminal',
    ]);
  });

  it('refuses at delivery a name that resolves to a refused address: a dead letter naming webhooks.network', async () => {
    const deliver = createWebhookDelivery({
      endpoints: [{ id: 'sneaky', url: 'https://localhost:9/hook', secret: SECRET_TILL }],
      payments: {
        get: () => Promise.resolve(null),
        getRefund: () => Promise.resolve(null),
        events: async () => [{ seq: 7, paymentId: 'b3f1d9a6-1f1e-4a53-9c4b-8d1f0f6f6f6f', at: Date.now(), kind: 'state_changed', actor: 'test', fromState: 'created', toState: 'approved', version: 2, detail: null, rawBody: null }],
      },
      present: () => {
        throw new Error('not called');
      },
      network: { key: 'webhooks.network' },
      timeoutMs: 1000,
      logger: createLogger({ level: 'error', silent: true }),
      clock: Date.now,
      beforeSend: () => Promise.resolve(),
    });
    const item: OutboxItem = { id: 1, kind: 'webhook', paymentId: 'b3f1d9a6-1f1e-4a53-9c4b-8d1f0f6f6f6f', payload: { endpoint: 'sneaky', seq: 7 }, state: 'pending', attempts: 0, nextAttemptAt: 0, lastError: null, createdAt: 0, updatedAt: 0 };
    await expect(deliver(item)).rejects.toThrow('webhook sneaky (https://localhost:9/hook): localhost resolves to 127.0.0.1, a loopback address, not allowed by webhooks.network.allowedAddresses');
    await expect(deliver({ ...item, payload: { endpoint: 'gone', seq: 7 } })).rejects.toThrow('webhook endpoint "gone" is no longer in webhooks.endpoints');
  });
});
