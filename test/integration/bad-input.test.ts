import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { CALLBACK_KEY, startHarness, TERMINAL_KEY, type Harness } from '../support/harness.js';
import { call, type ErrorJson, type JsonResponse, type PaymentJson } from '../support/http.js';

// One daemon for the file: every request below is refused, so none may leave a trace.
let h: Harness;
let payment: PaymentJson;
let before: TableCounts;

const JOURNALED_TABLES = ['payments', 'payment_events', 'refunds', 'outbox', 'idempotency_keys'] as const;
type TableCounts = Record<(typeof JOURNALED_TABLES)[number], number>;

/** How many rows each journaled table holds (on whichever database the harness runs). */
async function counts(): Promise<TableCounts> {
  const entries = await Promise.all(JOURNALED_TABLES.map(async (t) => [t, (await h.sql<{ n: number }>(`SELECT count(*) AS n FROM ${t}`))[0]?.n] as const));
  return Object.fromEntries(entries) as TableCounts;
}

beforeAll(async () => {
  // Every route is refused with every bad credential (more than the default 60 a minute): the limiter is tested elsewhere.
  h = await startHarness({ config: { server: { authFailures: { perSourcePerMinute: 1000, perCredentialPerMinute: 1000 } } } });
  const created = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 1500, currency: 'NZD', merchantReference: 'GOOD-1' } });
  expect(created.status, created.text).toBe(201);
  payment = created.body;
  // Let the QR warm-up settle before taking the baseline.
  expect((await fetch(`${h.url}/v1/payments/${payment.id}/qr`, { headers: h.auth() })).status).toBe(200);
  before = await counts();
});
afterAll(async () => {
  await h?.stop();
});

/** `:id` in a path stands for the good payment's id (known only once the harness runs). */
function url(path: string): string {
  return `${h.url}${path.replace(':id', payment.id)}`;
}

type Request = { method?: string; headers?: Record<string, string>; json?: unknown; body?: string };

async function send(method: string, path: string, request: Request = {}): Promise<JsonResponse<ErrorJson>> {
  return call<ErrorJson>(url(path), { ...request, method, headers: { ...request.headers } });
}

/** Every refusal is our JSON error shape, a 4xx, and gives nothing of the internals away. */
function expectRefusal(res: JsonResponse<ErrorJson>, status: number, code?: string | RegExp, message?: RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body?.error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
  if (code !== undefined) expect(res.body.error.code).toMatch(code);
  if (message !== undefined) expect(res.body.error.message).toMatch(message);
  expect(res.text).not.toContain('    at ');
  expect(res.text).not.toContain('/work/');
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const VALID_CREATE = { amountMinor: 1000, currency: 'NZD', merchantReference: 'R-1' };

const ROUTES: Array<[method: string, path: string, body?: unknown]> = [
  ['GET', '/v1/terminal'],
  ['POST', '/v1/payments', VALID_CREATE],
  ['GET', '/v1/payments'],
  ['GET', '/v1/payments/:id'],
  ['GET', '/v1/payments/:id/events'],
  ['GET', '/v1/payments/:id/qr'],
  ['GET', '/v1/payments/:id/qr/text'],
  ['POST', '/v1/payments/:id/cancel'],
  ['POST', '/v1/payments/:id/refunds', { amountMinor: 100 }],
  ['GET', '/v1/payments/:id/refunds'],
  ['GET', '/v1/refunds/:id'],
  ['GET', '/v1/events'],
];

const BAD_CREDENTIALS: Array<[what: string, headers: Record<string, string>]> = [
  ['no Authorization header', {}],
  ['Basic instead of Bearer', { Authorization: `Basic ${Buffer.from(`TERM0001:${TERMINAL_KEY}`).toString('base64')}` }],
  ['the right key under another scheme', { Authorization: `Token ${TERMINAL_KEY}` }],
  ['Bearer without a key', { Authorization: 'Bearer' }],
  ['an unknown key', { Authorization: 'Bearer not-a-terminal-key' }],
  ['the key with a trailing character', { Authorization: `Bearer ${TERMINAL_KEY}x` }],
];

describe('the terminal API refuses a caller without valid credentials', () => {
  const cases = ROUTES.flatMap(([method, path, body]) => BAD_CREDENTIALS.map(([what, headers]) => [`${method} ${path}`, what, method, path, body, headers] as const));
  it.each(cases)('%s with %s → 401 and WWW-Authenticate', async (_route, _what, method, path, body, headers) => {
    const res = await send(method, path, body === undefined ? { headers } : { headers, json: body });
    expectRefusal(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="tenderbridge"/);
  });
});

const BODY_ROUTES: Array<[method: string, path: string]> = [
  ['POST', '/v1/payments'],
  ['POST', '/v1/payments/:id/cancel'],
  ['POST', '/v1/payments/:id/refunds'],
];

const BAD_BODIES: Array<[what: string, request: Request, status: number, code: string | RegExp]> = [
  ['malformed JSON', { headers: JSON_HEADERS, body: '{"amountMinor": 1000,' }, 400, 'invalid_json'],
  ['a JSON null', { headers: JSON_HEADERS, body: 'null' }, 400, /^(invalid_json|invalid_request)$/],
  ['a JSON string', { headers: JSON_HEADERS, body: '"1000"' }, 400, /^(invalid_json|invalid_request)$/],
  ['a text/plain body', { headers: { 'Content-Type': 'text/plain' }, body: 'amountMinor=1000' }, 415, 'unsupported_media_type'],
  ['a form body', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'amountMinor=1000&currency=NZD' }, 415, 'unsupported_media_type'],
  ['a latin1 charset', { headers: { 'Content-Type': 'application/json; charset=latin1' }, body: '{}' }, 415, 'unsupported_charset'],
  ['a gzip encoding that is not gzip', { headers: { ...JSON_HEADERS, 'Content-Encoding': 'gzip' }, body: '{"amountMinor": 1}' }, 400, /./],
  ['an unknown content encoding', { headers: { ...JSON_HEADERS, 'Content-Encoding': 'compress' }, body: '{}' }, 415, 'unsupported_encoding'],
  ['a body over 64kb', { headers: JSON_HEADERS, body: JSON.stringify({ merchantReference: 'x'.repeat(70_000) }) }, 413, 'body_too_large'],
];

describe('routes with a JSON body refuse what is not a JSON object', () => {
  const cases = BODY_ROUTES.flatMap(([method, path]) => BAD_BODIES.map(([what, request, status, code]) => [`${method} ${path}`, what, status, method, path, request, code] as const));
  it.each(cases)('%s with %s → %i', async (_route, _what, status, method, path, request, code) => {
    expectRefusal(await send(method, path, { ...request, headers: { ...h.auth(), ...request.headers } }), status, code);
  });

  it.each([
    ['POST', '/v1/payments'],
    ['POST', '/v1/payments/:id/refunds'],
  ])('%s %s with a JSON array → 400', async (method, path) => {
    expectRefusal(await send(method, path, { headers: h.auth(), json: [VALID_CREATE] }), 400, 'invalid_request', /^body: must be a JSON object$/);
  });

  it.each<[string, string, Record<string, unknown>]>([
    ['POST', '/v1/payments', { ...VALID_CREATE, tipMinor: 100 }],
    ['POST', '/v1/payments/:id/refunds', { amountMinor: 100, note: 'x' }],
  ])('%s %s with an unknown field → 400 naming it', async (method, path, json) => {
    const unknown = Object.keys(json).at(-1) as string;
    expectRefusal(await send(method, path, { headers: h.auth(), json }), 400, 'invalid_request', new RegExp(`unknown field.*${unknown}`));
  });
});

describe('POST /v1/payments validates every field and names it', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['amountMinor as a decimal', { ...VALID_CREATE, amountMinor: 12.34 }, /^amountMinor: must be an integer number of minor units.*not a decimal/],
    ['amountMinor as a string', { ...VALID_CREATE, amountMinor: '1234' }, /^amountMinor: must be an integer number of minor units/],
    ['amountMinor as a boolean', { ...VALID_CREATE, amountMinor: true }, /^amountMinor: must be an integer number of minor units/],
    ['amountMinor of zero', { ...VALID_CREATE, amountMinor: 0 }, /^amountMinor: must be greater than zero/],
    ['a negative amountMinor', { ...VALID_CREATE, amountMinor: -500 }, /^amountMinor: must be greater than zero/],
    ['a huge amountMinor', { ...VALID_CREATE, amountMinor: 1e12 }, /^amountMinor: must be at most 100000000/],
    ['no amountMinor', { currency: 'NZD', merchantReference: 'R-1' }, /^amountMinor: is required/],
    ['a lower-case currency', { ...VALID_CREATE, currency: 'nzd' }, /^currency: must be a 3-letter ISO 4217 code/],
    ['a 4-letter currency', { ...VALID_CREATE, currency: 'NZDD' }, /^currency: must be a 3-letter ISO 4217 code/],
    ['a numeric currency', { ...VALID_CREATE, currency: 554 }, /^currency: must be a string/],
    ['no currency', { amountMinor: 1000, merchantReference: 'R-1' }, /^currency: is required/],
    ["a currency that is not the merchant's", { ...VALID_CREATE, currency: 'AUD' }, /currency AUD does not match .* NZD/],
    ['a currency ISO 4217 does not define', { ...VALID_CREATE, currency: 'QQQ' }, /^currency: must be an ISO 4217 currency/],
    ['an ISO code that is not money', { ...VALID_CREATE, currency: 'XDR' }, /^currency: must be an ISO 4217 currency/],
    ['an empty merchantReference', { ...VALID_CREATE, merchantReference: '' }, /^merchantReference: must not be empty/],
    ['a 65-character merchantReference', { ...VALID_CREATE, merchantReference: 'R'.repeat(65) }, /^merchantReference: must be at most 64 characters/],
    ['a non-ASCII merchantReference', { ...VALID_CREATE, merchantReference: 'Café-42' }, /^merchantReference: must be printable ASCII/],
    ['a merchantReference with a newline', { ...VALID_CREATE, merchantReference: 'R-1\nR-2' }, /^merchantReference: must be printable ASCII/],
    ['a merchantReference with a NUL', { ...VALID_CREATE, merchantReference: 'R-1\u0000' }, /^merchantReference: must be printable ASCII/],
    ['no merchantReference', { amountMinor: 1000, currency: 'NZD' }, /^merchantReference: is required/],
    ['an unknown provider', { ...VALID_CREATE, provider: 'stripe' }, /^provider: must be "partpay"/],
  ])('refuses %s', async (_what, json, message) => {
    expectRefusal(await send('POST', '/v1/payments', { headers: h.auth(), json }), 400, 'invalid_request', message);
  });
});

describe('a bad Idempotency-Key is refused', () => {
  const keys: Array<[string, string]> = [
    ['129 characters', 'k'.repeat(129)],
    ['a space', 'retry 1'],
    ['an empty value', ''],
  ];
  const cases = (
    [
      ['POST /v1/payments', '/v1/payments', VALID_CREATE],
      ['POST /v1/payments/:id/refunds', '/v1/payments/:id/refunds', { amountMinor: 100 }],
    ] as const
  ).flatMap(([route, path, json]) => keys.map(([what, key]) => [route, what, path, json, key] as const));
  it.each(cases)('%s with a key of %s → 400', async (_route, _what, path, json, key) => {
    // The message must name the header, or a POS developer cannot tell which one is wrong.
    expectRefusal(await send('POST', path, { headers: { ...h.auth(), 'Idempotency-Key': key }, json }), 400, 'invalid_request', /Idempotency-Key/i);
  });
});

const ID_ROUTES: Array<[method: string, suffix: string, body?: unknown]> = [
  ['GET', ''],
  ['GET', '/events'],
  ['GET', '/qr'],
  ['GET', '/qr/text'],
  ['POST', '/cancel'],
  ['POST', '/refunds', { amountMinor: 100 }],
  ['GET', '/refunds'],
];

describe('payment ids in paths', () => {
  const NOT_A_UUID = /^path parameter id: must be a payment id \(UUID\)$/;
  // As they appear in the URL. A percent-escape that does not decode never reaches our
  // validation (the router refuses it), so any 400 in our error shape will do.
  const badIds: Array<[string, RegExp | undefined]> = [
    ['not-a-uuid', NOT_A_UUID],
    ['12345', NOT_A_UUID],
    [`${randomUUID()}0`, NOT_A_UUID],
    [randomUUID().replaceAll('-', ''), NOT_A_UUID],
    ["1'%20OR%20'1'='1", NOT_A_UUID],
    ['%E0%A4%A', undefined],
  ];
  const cases = ID_ROUTES.flatMap(([method, suffix, body]) => badIds.map(([id, message]) => [`${method} /v1/payments/{id}${suffix}`, id, method, suffix, body, message] as const));
  it.each(cases)('%s with id %j → 400', async (_route, id, method, suffix, body, message) => {
    const res = await send(method, `/v1/payments/${id}${suffix}`, body === undefined ? { headers: h.auth() } : { headers: h.auth(), json: body });
    expectRefusal(res, 400, message && 'invalid_request', message);
  });

  it.each(ID_ROUTES)('%s /v1/payments/{unknown uuid}%s → 404', async (method, suffix, body) => {
    const path = `/v1/payments/${randomUUID()}${suffix}`;
    expectRefusal(await send(method, path, body === undefined ? { headers: h.auth() } : { headers: h.auth(), json: body }), 404, 'not_found');
  });

  it.each(ID_ROUTES)("%s /v1/payments/{another terminal's payment}%s → 404", async (method, suffix, body) => {
    const path = `/v1/payments/:id${suffix}`;
    expectRefusal(await send(method, path, body === undefined ? { headers: h.auth(2) } : { headers: h.auth(2), json: body }), 404, 'not_found');
  });
});

describe('query strings', () => {
  it.each<[string, string, RegExp]>([
    ['?wait=61', '/v1/payments/:id?wait=61', /^query parameter wait: must be at most 60/],
    ['?wait=-1', '/v1/payments/:id?wait=-1', /^query parameter wait: must be 0 or more/],
    ['?wait=abc', '/v1/payments/:id?wait=abc', /^query parameter wait: /],
    ['?wait=1.5', '/v1/payments/:id?wait=1.5', /^query parameter wait: must be whole seconds/],
    ['?wait given twice', '/v1/payments/:id?wait=1&wait=2', /^query parameter wait: /],
    ['?version=-1', '/v1/payments/:id?wait=1&version=-1', /^query parameter version: /],
    ['an unknown parameter on a payment', '/v1/payments/:id?expand=refunds', /unknown field\(s\) expand/],
    ['an unknown parameter on the list', '/v1/payments?page=2', /unknown field\(s\) page/],
    ['an unknown state on the list', '/v1/payments?state=paid', /^query parameter state: /],
    ['a limit of 0 on the list', '/v1/payments?limit=0', /^query parameter limit: /],
    ['a limit of 201 on the list', '/v1/payments?limit=201', /^query parameter limit: /],
    ['a date without a time zone on the list', '/v1/payments?created_gte=2026-12-01', /^query parameter created_gte: must be an ISO 8601 date-time with a time zone/],
    ['a cursor that is not a payment id', '/v1/payments?starting_after=7', /^query parameter starting_after: must be a payment id/],
    ['a resume point that is not an event id', '/v1/events?last_event_id=x', /^query parameter last_event_id: /],
    ['?format=gif on the QR', '/v1/payments/:id/qr?format=gif', /format: must be one of png, jpeg, webp/],
    ['?size=5 on the QR', '/v1/payments/:id/qr?size=5', /size: must be at least 64/],
    ['?size=abc on the QR', '/v1/payments/:id/qr?size=abc', /size: must be a whole number/],
    ['?size=99999 on the QR', '/v1/payments/:id/qr?size=99999', /size: must be at most 2048/],
    ['a margin that leaves no room for the code', '/v1/payments/:id/qr?margin=150', /margin: /],
    ['?colour=red on the QR', '/v1/payments/:id/qr?colour=red', /colour: must be one of/],
    ['?format given twice on the QR', '/v1/payments/:id/qr?format=png&format=jpeg', /format: must be given once/],
  ])('refuses %s with 400', async (_what, path, message) => {
    expectRefusal(await send('GET', path, { headers: h.auth() }), 400, 'invalid_request', message);
  });
});

describe('POST /v1/payments/:id/refunds validates its body', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['amountMinor of zero', { amountMinor: 0 }, /^amountMinor: must be greater than zero/],
    ['a negative amountMinor', { amountMinor: -1 }, /^amountMinor: must be greater than zero/],
    ['amountMinor as a decimal', { amountMinor: 5.5 }, /^amountMinor: .*not a decimal/],
    ['amountMinor as a string', { amountMinor: '100' }, /^amountMinor: must be an integer number of minor units/],
    ['a huge amountMinor', { amountMinor: 1e12 }, /^amountMinor: /],
    ['a reason that is not a string', { amountMinor: 100, reason: 42 }, /^reason: must be a string/],
    ['a reason over 200 characters', { amountMinor: 100, reason: 'r'.repeat(201) }, /^reason: must be at most 200 characters/],
  ])('refuses %s with 400', async (_what, json, message) => {
    expectRefusal(await send('POST', '/v1/payments/:id/refunds', { headers: h.auth(), json }), 400, 'invalid_request', message);
  });
});

describe('unknown routes answer 404 in JSON', () => {
  it.each<[string, string]>([
    ['GET', '/v1/nope'],
    ['POST', '/v1/terminal'],
    ['PUT', '/v1/payments/:id'],
    ['DELETE', '/v1/payments/:id'],
    ['PATCH', '/v1/payments/:id/refunds'],
    ['GET', '/v1/refunds'],
    ['POST', '/v1/refunds/:id'],
    ['GET', '/v2/payments'],
    ['GET', '/partpay/callback'],
    ['GET', '/nope'],
  ])('%s %s → 404', async (method, path) => {
    expectRefusal(await send(method, path, { headers: h.auth() }), 404, 'not_found');
  });
});

describe('POST /partpay/callback refuses bad input', () => {
  const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const fields = (): Array<[string, string]> => [
    ['orderId', payment.partpay?.orderId ?? ''],
    ['orderNumber', payment.partpay?.orderNumber ?? ''],
    ['orderStatus', 'approved'],
    ['gatewayReference', payment.id],
    ['merchantReference', 'GOOD-1'],
  ];
  const unsigned = () => new URLSearchParams(fields()).toString();
  it.each<[string, () => Request, number, string]>([
    ['no signature', () => ({ headers: FORM, body: unsigned() }), 401, 'unauthenticated'],
    ['a signature made with another key', () => ({ headers: FORM, body: buildSignedCallbackBody(fields(), 'not-the-merchant-key') }), 401, 'unauthenticated'],
    ['a malformed signature', () => ({ headers: FORM, body: `${unsigned()}&signature=xyz` }), 401, 'unauthenticated'],
    ['a signed body altered afterwards', () => ({ headers: FORM, body: buildSignedCallbackBody(fields(), CALLBACK_KEY).replace('approved', 'declined') }), 401, 'unauthenticated'],
    ['a JSON body', () => ({ headers: JSON_HEADERS, body: JSON.stringify(Object.fromEntries(fields())) }), 415, 'unsupported_media_type'],
    ['a text/plain body', () => ({ headers: { 'Content-Type': 'text/plain' }, body: unsigned() }), 415, 'unsupported_media_type'],
    ['no orderStatus', () => ({ headers: FORM, body: buildSignedCallbackBody(fields().filter(([k]) => k !== 'orderStatus'), CALLBACK_KEY) }), 400, 'invalid_request'],
    ['an orderId with control characters', () => ({ headers: FORM, body: buildSignedCallbackBody([['orderId', 'a\u0001b'], ['orderStatus', 'approved']], CALLBACK_KEY) }), 400, 'invalid_request'],
    ['an empty body', () => ({ headers: FORM, body: '' }), 400, 'invalid_request'],
    ['a body over 16kb', () => ({ headers: FORM, body: `${unsigned()}&pad=${'x'.repeat(17_000)}` }), 413, 'body_too_large'],
  ])('refuses %s with %i', async (_what, request, status, code) => {
    const res = await send('POST', '/partpay/callback', request());
    expectRefusal(res, status, code);
    expect(res.headers.get('www-authenticate')).toBeNull();
  });
});

describe('after all the bad requests', () => {
  it('nothing was written: no payment, event, refund, owed delivery or idempotency key', async () => {
    expect(await counts()).toEqual(before);
  });

  it('the good payment is untouched', async () => {
    const rows = await h.sql<{ version: number }>('SELECT version FROM payments WHERE id = ?', payment.id);
    expect(rows).toEqual([{ version: payment.version }]);
    const res = await call<PaymentJson>(url('/v1/payments/:id'), { headers: h.auth() });
    expect(res.body).toMatchObject({ id: payment.id, state: payment.state, version: payment.version, refundedMinor: 0 });
  });
});

// Last, and checking its own effect: a cancel that acts on a body it should refuse changes
// the good payment, which must not hide the other checks above.
describe('POST /v1/payments/:id/cancel takes no body', () => {
  it.each<[string, unknown, RegExp]>([
    ['a JSON array', [], /^body: must be an empty JSON object or no body$/],
    ['an unknown field', { reason: 'customer left' }, /unknown field.*reason/],
  ])('refuses %s with 400 and leaves the payment as it was', async (_what, json, message) => {
    const countsBefore = await counts();
    expectRefusal(await send('POST', '/v1/payments/:id/cancel', { headers: h.auth(), json }), 400, 'invalid_request', message);
    expect(await counts()).toEqual(countsBefore);
    expect(await h.sql('SELECT state, version FROM payments WHERE id = ?', payment.id)).toEqual([{ state: payment.state, version: payment.version }]);
  });
});
