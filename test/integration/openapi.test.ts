import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';
import { listRoutes } from '../support/routes.js';
import { contractAnswersChecked, PACKAGE_VERSION, takeContractViolations } from '../support/contract.js';
import { terminalApiDocument } from '../../src/terminals/openapi.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('the /v1 contract on a running daemon', () => {
  it('documents every route express serves under /v1, and nothing it does not serve', () => {
    const served = listRoutes(h.daemon.app)
      .filter((r) => r.path.startsWith('/v1/'))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .filter((r) => !r.startsWith('HEAD '));
    const paths = terminalApiDocument('0.0.0')['paths'] as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    // A route missing here needs an entry in TERMINAL_OPERATIONS (src/terminals/operations.ts).
    expect(served.filter((r) => !documented.includes(r)), 'routes missing from the document').toEqual([]);
    expect(documented.filter((r) => !served.includes(r)), 'documented operations no route serves').toEqual([]);
  });

  it('serves the document at GET /v1/openapi.json behind the terminal key', async () => {
    expect((await call(`${h.url}/v1/openapi.json`)).status).toBe(401);
    const res = await call(`${h.url}/v1/openapi.json`, { headers: h.auth() });
    expect(res.status).toBe(200);
    // The same document as docs/openapi.json, with the version of the daemon that serves it.
    const version = (res.body['info'] as { version: string }).version;
    expect(res.body).toEqual(terminalApiDocument(version));
    expect(res.body['paths']).toEqual(terminalApiDocument(PACKAGE_VERSION)['paths']);
  });

  it("checks the harness daemon's /v1 answers against the document, and catches one that breaks it", async () => {
    const before = contractAnswersChecked();
    expect((await call(`${h.url}/v1/terminal`, { headers: h.auth() })).status).toBe(200);
    expect(contractAnswersChecked()).toBe(before + 1);
    expect(takeContractViolations()).toEqual([]);
    // A route that answers outside the document (added here, after the routes, as a stray
    // handler would be) is reported, and the setup file would fail the test with it.
    h.daemon.app.get('/v1/terminal-extra', (_req, res) => void res.status(200).json({ surprise: true }));
    const stack = (h.daemon.app as unknown as { router: { stack: unknown[] } }).router.stack;
    stack.unshift(stack.pop());
    await call(`${h.url}/v1/terminal-extra`, { headers: h.auth() });
    stack.shift();
    expect(takeContractViolations()).toEqual(['GET /v1/terminal-extra → 200: no operation GET /v1/terminal-extra in the document']);
  });

  it('answers a CORS preflight with CORS off (no origins listed) as x-preflight says: 401, checked like any answer', async () => {
    const before = contractAnswersChecked();
    const res = await call(`${h.url}/v1/payments`, { method: 'OPTIONS', headers: { Origin: 'https://pos.example', 'Access-Control-Request-Method': 'POST' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(contractAnswersChecked()).toBe(before + 1);
    expect(takeContractViolations()).toEqual([]);
  });
});
