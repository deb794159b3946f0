import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

// Issue 17 item 8: the Host header was not checked, so a web page using DNS rebinding (its own
// name resolving to 127.0.0.1) could reach the unauthenticated routes, /metrics included, from
// a browser on the daemon's machine. On a loopback bind only 127.0.0.1, localhost and [::1] are
// accepted unless server.allowedHosts says otherwise.

/** GET with an exact Host header (fetch will not send a made-up one). */
function getWithHost(url: string, host: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = host === null ? {} : { Host: host };
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers, setHost: false, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('on a loopback bind, by default', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it.each(['/healthz', '/readyz', '/metrics', '/terminal', '/v1/openapi.json'])('refuses %s under a foreign Host name', async (path) => {
    const port = new URL(h.url).port;
    expect(await getWithHost(`${h.url}${path}`, `rebind.attacker.example:${port}`)).toBe(421);
    expect(await getWithHost(`${h.url}${path}`, `localhost.attacker.example`)).toBe(421);
  });

  it('accepts 127.0.0.1, localhost and [::1], with or without the port', async () => {
    const port = new URL(h.url).port;
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`]) expect(await getWithHost(`${h.url}/healthz`, host), host).toBe(200);
  });
});

describe('server.allowedHosts', () => {
  it('accepts exactly the names it lists ("*.domain" for subdomains)', async () => {
    const h = await startHarness({ config: { server: { allowedHosts: ['pay.store.example', '*.tills.example'] } } });
    try {
      expect(await getWithHost(`${h.url}/healthz`, 'pay.store.example:8480')).toBe(200);
      expect(await getWithHost(`${h.url}/healthz`, 'lane3.tills.example')).toBe(200);
      expect(await getWithHost(`${h.url}/healthz`, 'tills.example')).toBe(421);
      expect(await getWithHost(`${h.url}/healthz`, '127.0.0.1')).toBe(421);
    } finally {
      await h.stop();
    }
  });
});
