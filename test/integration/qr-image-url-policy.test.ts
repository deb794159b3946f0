import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQrJpeg } from '../qr/helpers.js';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness.js';
import { call, type ErrorJson, type PaymentJson } from '../support/http.js';
import { connectionsDuring } from '../support/connections.js';

/**
 * A PartPay that names hostile QR image URLs in its create-order answers (the simulator's
 * `publicUrl` decides where its image URLs point), against the whole daemon: the terminal
 * asks for its QR image and must get a clear 502/504, and nothing we did not mean is fetched.
 */

/** The image server PartPay's URLs point at; `mode` says how it misbehaves. */
let hostile: Server;
let hostileUrl: string;
let hostilePort: number;
/** Where redirects lead; it must never be reached. */
let elsewhere: Server;
let elsewhereUrl: string;
const accepted = { hostile: 0, elsewhere: 0 };
let mode: 'ok' | 'away' | 'hop' | 'huge' | 'drip' = 'ok';
let jpeg: Buffer;
const open = new Set<ServerResponse>();

function hostileRoute(req: IncomingMessage, res: ServerResponse): void {
  open.add(res);
  res.on('close', () => open.delete(res));
  if (mode === 'ok') {
    res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
  } else if (mode === 'away') {
    res.writeHead(302, { location: `${elsewhereUrl}/qr.jpg` }).end();
  } else if (mode === 'hop') {
    // A first hop on the same host, then away from it.
    if (req.url?.startsWith('/second')) res.writeHead(302, { location: `${elsewhereUrl}/qr.jpg` }).end();
    else res.writeHead(302, { location: `/second${req.url ?? ''}` }).end();
  } else if (mode === 'huge') {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    const pump = () => {
      while (!res.destroyed && res.write(Buffer.alloc(16_384, 0xff))) {
        /* fill the socket buffer */
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  } else {
    // Slowloris: a byte a second, so no idle timer ever fires.
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    let i = 0;
    const timer = setInterval(() => res.write(jpeg.subarray(i, ++i)), 1000);
    res.on('close', () => clearInterval(timer));
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  jpeg = await makeQrJpeg('https://partpay.example/phone/orders/x');
  hostile = createServer(hostileRoute).on('connection', () => accepted.hostile++);
  elsewhere = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg)).on('connection', () => accepted.elsewhere++);
  hostilePort = await listen(hostile);
  hostileUrl = `http://127.0.0.1:${hostilePort}`;
  elsewhereUrl = `http://127.0.0.1:${await listen(elsewhere)}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  for (const server of [hostile, elsewhere]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A harness whose PartPay answers with an image URL under `publicUrl` (default: its own API origin). */
async function withPartPay(publicUrl: string | undefined, imageFetch: Record<string, unknown> | undefined, body: (h: Harness) => Promise<void>): Promise<void> {
  const options: HarnessOptions = {
    simulator: {
      merchants: [{ merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: 'test-client-secret-never-logged', callbackKey: 'iDt3PoeoSHu3r/mTbzkaHg', qrDelivery: 'url' }],
      ...(publicUrl === undefined ? {} : { publicUrl }),
    },
    ...(imageFetch === undefined ? {} : { config: { partpay: { imageFetch } } }),
  };
  const h = await startHarness(options);
  try {
    await body(h);
  } finally {
    await h.stop();
  }
}

/** Creates a payment and asks for its QR image as the terminal would. */
async function qrImage(h: Harness) {
  const created = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 1000, currency: 'NZD', merchantReference: 'QR-URL' } });
  expect(created.status, created.text).toBe(201);
  return call<ErrorJson>(`${h.url}/v1/payments/${created.body.id}/qr`, { headers: h.auth() });
}


const refusal = (status: number, message: RegExp) => ({ status, body: { error: expect.objectContaining({ code: 'upstream_invalid_response', message: expect.stringMatching(message) }) } });

describe('a QR image URL from PartPay is fetched only if we meant it', () => {
  it("serves an image from PartPay's own API origin (the demo and test setup)", async () => {
    await withPartPay(undefined, undefined, async (h) => {
      expect((await qrImage(h)).status).toBe(200);
    });
  });

  it('refuses http when only https is allowed', async () => {
    await withPartPay(undefined, { allowLoopbackHttp: false }, async (h) => {
      expect(await qrImage(h)).toMatchObject(refusal(502, /http:\/\/ is refused: https only/));
    });
  });

  it('refuses a host that is not on the allow-list, naming it and the key', async () => {
    await withPartPay('https://qr.partpay-images.example', undefined, async (h) => {
      expect(await qrImage(h)).toMatchObject(refusal(502, /host qr\.partpay-images\.example is not in partpay\.imageFetch\.allowedHosts/));
    });
  });

  it("refuses 127.0.0.1 on another port than PartPay's API, without connecting", async () => {
    await withPartPay(hostileUrl, undefined, async (h) => {
      const before = accepted.hostile;
      expect(await qrImage(h)).toMatchObject(refusal(502, new RegExp(`host 127\\.0\\.0\\.1:${hostilePort} is not in partpay\\.imageFetch\\.allowedHosts`)));
      expect(accepted.hostile).toBe(before);
    });
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a link-local address, not allowed by partpay\.imageFetch\.allowedAddresses/],
    ['https://10.0.0.1', /10\.0\.0\.1 is a private address, not allowed by partpay\.imageFetch\.allowedAddresses/],
    ['https://[::ffff:169.254.169.254]', /is a link-local address/],
  ])('refuses an image at %s before any connection, even with the host listed', async (publicUrl, message) => {
    const host = new URL(publicUrl).hostname;
    await withPartPay(publicUrl, { allowLoopbackHttp: true, allowedHosts: [host] }, async (h) => {
      const hosts = await connectionsDuring(async () => {
        expect(await qrImage(h)).toMatchObject(refusal(502, message));
      });
      expect(hosts.filter((name) => !name.startsWith('127.0.0.1'))).toEqual([]);
    });
  });

  describe('from a listed image host that misbehaves', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        simulator: {
          merchants: [{ merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: 'test-client-secret-never-logged', callbackKey: 'iDt3PoeoSHu3r/mTbzkaHg', qrDelivery: 'url' }],
          publicUrl: hostileUrl,
        },
        config: { partpay: { imageFetch: { allowLoopbackHttp: true, allowedHosts: [`127.0.0.1:${hostilePort}`, new URL(elsewhereUrl).host], timeoutMs: 1_500, maxBytes: 256 * 1024 } } },
      });
    });
    afterAll(async () => {
      await h.stop();
    });

    it('serves the image when the listed host behaves', async () => {
      mode = 'ok';
      expect((await qrImage(h)).status).toBe(200);
    });

    it.each(['away', 'hop'] as const)('refuses a redirect chain (%s) to another host, even a listed one, without connecting to it', async (how) => {
      mode = how;
      const before = accepted.elsewhere;
      expect(await qrImage(h)).toMatchObject(refusal(502, new RegExp(`redirect from 127\\.0\\.0\\.1:${hostilePort} to ${new URL(elsewhereUrl).host.replace(/\./g, '\\.')} refused`)));
      expect(accepted.elsewhere).toBe(before);
    });

    it('stops reading an endless image at maxBytes', async () => {
      mode = 'huge';
      expect(await qrImage(h)).toMatchObject(refusal(502, /larger than 262144 bytes/));
    });

    it('answers 504 on time when the image drips in a byte a second (slowloris)', async () => {
      mode = 'drip';
      // The drip never ends: only the whole-fetch limit gives this 504 (how fast is the benchmark's business).
      const answer = await qrImage(h);
      expect(answer).toMatchObject({ status: 504, body: { error: expect.objectContaining({ code: 'upstream_timeout' }) } });
    });
  });
});
