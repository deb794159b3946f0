import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageFetcher } from '../../src/qr/image-fetch.js';
import { createQrImages } from '../../src/qr/qr-images.js';
import { UpstreamError } from '../../src/shared/errors.js';
import { makeQrJpeg } from './helpers.js';
import { connectionsDuring } from '../support/connections.js';

const TEXT = 'https://partpay.example/qr/order-42';
const MAX_BYTES = 64 * 1024;
let server: Server;
let base: string;
let port: number;
/** A second loopback server: where hostile URLs and redirects point. It must never be reached. */
let other: Server;
let otherBase: string;
let otherPort: number;
let jpeg: Buffer;
const open = new Set<ServerResponse>();
/** TCP connections each server accepted, to prove a refusal happened before connecting. */
const accepted = { server: 0, other: 0 };
/** These tests' servers are plain http on loopback: allowed explicitly, as the demo config does. */
const LOOPBACK = { key: 'test.imageFetch', allowLoopbackHttp: true } as const;
const PARTPAY_HOSTS = ['partpay.co.nz', '*.partpay.co.nz', 'zip.co', '*.zip.co'];

function route(req: IncomingMessage, res: ServerResponse): void {
  open.add(res);
  res.on('close', () => open.delete(res));
  switch (req.url) {
    case '/ok.jpg':
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length }).end(jpeg);
      return;
    case '/ok-charset.jpg':
      res.writeHead(200, { 'content-type': 'Image/JPEG; charset=binary' }).end(jpeg);
      return;
    case '/html':
      res.writeHead(200, { 'content-type': 'text/html' }).end(jpeg);
      return;
    case '/svg':
      res.writeHead(200, { 'content-type': 'image/svg+xml' }).end('<svg xmlns="http://www.w3.org/2000/svg"/>');
      return;
    case '/big-declared':
      // Declares its size honestly, sends a little, then stalls: only an early refusal
      // based on Content-Length avoids waiting for the timeout.
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': MAX_BYTES * 4 });
      res.write(Buffer.alloc(1024));
      return;
    case '/big-chunked': {
      // No Content-Length and a body that never ends: only counting while streaming stops it.
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const pump = () => {
        while (!res.destroyed && res.write(Buffer.alloc(8192, 0xff))) {
          /* fill the socket buffer */
        }
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    case '/slow':
      return; // never answers
    case '/slow-body':
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.write(jpeg.subarray(0, 100));
      return; // never finishes
    case '/redirect':
      res.writeHead(302, { location: '/ok.jpg' }).end();
      return;
    case '/loop':
      res.writeHead(302, { location: '/loop' }).end();
      return;
    case '/away':
      res.writeHead(302, { location: `${otherBase}/ok.jpg` }).end();
      return;
    case '/hop':
      // Stays on this host first, then leaves it: the second hop must be refused too.
      res.writeHead(302, { location: '/away' }).end();
      return;
    case '/drip': {
      // Slowloris: a byte a second, so no idle timeout ever fires.
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      let i = 0;
      const timer = setInterval(() => res.write(jpeg.subarray(i, ++i)), 1000);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/busy':
      res.writeHead(503).end();
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

beforeAll(async () => {
  jpeg = await makeQrJpeg(TEXT);
  server = createServer(route).on('connection', () => accepted.server++);
  other = createServer(route).on('connection', () => accepted.other++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  otherPort = (other.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  otherBase = `http://127.0.0.1:${otherPort}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  for (const s of [server, other]) {
    s.closeAllConnections();
    await new Promise<void>((resolve, reject) => s.close((e) => (e ? reject(e) : resolve())));
  }
});

const images = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: LOOPBACK });


async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('fromUrl', () => {
  it('fetches a JPEG and reads its QR text', async () => {
    expect(await (await images.fromUrl(`${base}/ok.jpg`)).text()).toBe(TEXT);
    expect(await (await images.fromUrl(`${base}/ok-charset.jpg`)).text()).toBe(TEXT);
  });

  it('follows a redirect', async () => {
    expect(await (await images.fromUrl(`${base}/redirect`)).text()).toBe(TEXT);
  });

  it('stops after a few redirects', async () => {
    const error = await failure(images.fromUrl(`${base}/loop`));
    expect(error).toMatchObject({ code: 'upstream_invalid_response', retryable: false });
    expect(error.message).toMatch(/redirects/);
  });

  it.each([['ftp://127.0.0.1/qr.jpg'], ['file:///etc/passwd'], ['not a url']])('refuses %s', async (url) => {
    expect(await failure(images.fromUrl(url))).toMatchObject({ code: 'upstream_invalid_response', retryable: false });
  });

  it.each([['/html'], ['/svg']])('refuses the content type of %s', async (path) => {
    const error = await failure(images.fromUrl(`${base}${path}`));
    expect(error).toMatchObject({ code: 'upstream_invalid_response', retryable: false });
    expect(error.message).toMatch(/content type/);
  });

  it('refuses a body whose Content-Length is over maxBytes without waiting for it', async () => {
    const error = await failure(images.fromUrl(`${base}/big-declared`));
    expect(error).toMatchObject({ code: 'upstream_invalid_response', retryable: false });
    expect(error.message).toMatch(/larger than/);
  });

  it('stops reading an endless chunked body once it passes maxBytes', async () => {
    const error = await failure(images.fromUrl(`${base}/big-chunked`));
    expect(error).toMatchObject({ code: 'upstream_invalid_response', retryable: false });
    expect(error.message).toMatch(/larger than/);
  });

  it.each([['/slow'], ['/slow-body']])('times out on %s as a retryable upstream_timeout', async (path) => {
    const quick = createQrImages({ fetchTimeoutMs: 200, maxBytes: MAX_BYTES, fetchPolicy: LOOPBACK });
    const error = await failure(quick.fromUrl(`${base}${path}`));
    expect(error).toMatchObject({ code: 'upstream_timeout', retryable: true, status: 504 });
    expect(error.cause).toBeDefined();
  });

  it('fetches on the QR worker thread: undici on the event loop connects to nothing', async () => {
    // A fetcher of its own, so the worker has no idle connection to reuse and must open one.
    const fresh = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: LOOPBACK });
    const before = accepted.server;
    let source: Awaited<ReturnType<typeof images.fromUrl>> | undefined;
    // This thread's diagnostics channel sees every connection its own undici makes.
    expect(await connectionsDuring(async () => (source = await fresh.fromUrl(`${base}/ok.jpg`)))).toEqual([]);
    expect(await source?.text()).toBe(TEXT);
    expect(accepted.server).toBeGreaterThan(before);
    await fresh.close();
    // The same fetcher run here is seen, so the empty list above is not the channel being deaf.
    const direct = createImageFetcher({ timeoutMs: 1500, maxBytes: MAX_BYTES, policy: LOOPBACK });
    expect(await connectionsDuring(() => direct(`${base}/ok.jpg`))).toEqual(['127.0.0.1']);
  });

  it('maps a 404 to a non-retryable rejection with the status', async () => {
    expect(await failure(images.fromUrl(`${base}/missing.jpg`))).toMatchObject({ code: 'upstream_rejected', retryable: false, upstreamStatus: 404 });
  });

  it('maps a 503 to a retryable unavailable', async () => {
    expect(await failure(images.fromUrl(`${base}/busy`))).toMatchObject({ code: 'upstream_unavailable', retryable: true, upstreamStatus: 503 });
  });

  it('maps a refused connection to a retryable unavailable, keeping the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(images.fromUrl(`http://127.0.0.1:${port}/qr.jpg`));
    expect(error).toMatchObject({ code: 'upstream_unavailable', retryable: true });
    expect(error.cause).toBeDefined();
  });
});

describe('fromUrl fetches nothing we did not mean', () => {
  const refused = { code: 'upstream_invalid_response', retryable: false };

  it('refuses http when only https is allowed, without connecting', async () => {
    const httpsOnly = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: { key: 'partpay.imageFetch' } });
    const before = accepted.server;
    const error = await failure(httpsOnly.fromUrl(`${base}/ok.jpg`));
    expect(error).toMatchObject(refused);
    expect(error.message).toMatch(/http:\/\/ is refused.*partpay\.imageFetch\.allowLoopbackHttp/);
    expect(accepted.server).toBe(before);
  });

  it('refuses http to a host that is not loopback even when loopback http is allowed', async () => {
    const error = await failure(images.fromUrl('http://qr.partpay.co.nz/qr.jpg'));
    expect(error).toMatchObject(refused);
    expect(error.message).toMatch(/http:\/\/ is allowed only to a loopback host/);
  });

  it('refuses a host that is not on the allow-list, naming it and the key, before resolving it', async () => {
    // The fetcher on this thread, whose connection attempts connectionsDuring sees; fromUrl runs the same one on the worker.
    const listed = createImageFetcher({ timeoutMs: 1500, maxBytes: MAX_BYTES, policy: { key: 'partpay.imageFetch', allowedHosts: PARTPAY_HOSTS } });
    let error: UpstreamError | undefined;
    expect(await connectionsDuring(async () => (error = await failure(listed('https://qr.partpay.co.nz.evil.example/qr.jpg'))))).toEqual([]);
    expect(error).toMatchObject(refused);
    expect(error?.message).toContain('host qr.partpay.co.nz.evil.example is not in partpay.imageFetch.allowedHosts');
    const viaWorker = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: { key: 'partpay.imageFetch', allowedHosts: PARTPAY_HOSTS } });
    expect(await failure(viaWorker.fromUrl('https://qr.partpay.co.nz.evil.example/qr.jpg'))).toMatchObject({ ...refused, message: error?.message });
    await viaWorker.close();
  });

  it('fetches from a listed host and port, and refuses the same address on another port without connecting', async () => {
    const listed = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: { ...LOOPBACK, allowedHosts: [`127.0.0.1:${port}`] } });
    expect(await (await listed.fromUrl(`${base}/ok.jpg`)).text()).toBe(TEXT);
    const before = accepted.other;
    const error = await failure(listed.fromUrl(`${otherBase}/ok.jpg`));
    expect(error).toMatchObject(refused);
    expect(error.message).toContain(`host 127.0.0.1:${otherPort} is not in test.imageFetch.allowedHosts`);
    expect(accepted.other).toBe(before);
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local address/],
    ['https://10.0.0.1/qr.jpg', /10\.0\.0\.1 is a private address/],
    ['https://172.16.5.4/qr.jpg', /is a private address/],
    ['https://192.168.1.1/qr.jpg', /is a private address/],
    ['https://127.0.0.1/qr.jpg', /127\.0\.0\.1 is a loopback address/],
    ['https://0.0.0.0/qr.jpg', /is an unspecified address/],
    ['https://224.0.0.1/qr.jpg', /is a multicast address/],
    ['https://[::1]/qr.jpg', /::1 is a loopback address/],
    ['https://[fe80::1]/qr.jpg', /is a link-local address/],
    ['https://[fd12:3456::1]/qr.jpg', /is a private address/],
    ['https://[ff02::1]/qr.jpg', /is a multicast address/],
    ['https://[::]/qr.jpg', /is an unspecified address/],
    ['https://[::ffff:127.0.0.1]/qr.jpg', /is a loopback address/],
    ['https://[::ffff:a9fe:a9fe]/qr.jpg', /is a link-local address/],
    ['https://[::ffff:10.1.2.3]/qr.jpg', /is a private address/],
  ])('refuses %s before any connection', async (url, reason) => {
    // Any host name passes here (no allowedHosts): only the address check stands in the way.
    // The fetcher on this thread, whose connection attempts connectionsDuring sees.
    const https = createImageFetcher({ timeoutMs: 1500, maxBytes: MAX_BYTES, policy: { key: 'partpay.imageFetch' } });
    let error: UpstreamError | undefined;
    expect(await connectionsDuring(async () => (error = await failure(https(url))))).toEqual([]);
    expect(error).toMatchObject(refused);
    expect(error?.message).toMatch(reason);
    expect(error?.message).toContain('partpay.imageFetch.allowedAddresses');
  });

  it('fetches from a non-public address the config lists in allowedAddresses', async () => {
    const https = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: { key: 'test.imageFetch', allowedAddresses: ['127.0.0.0/8'] } });
    // Allowed through to the connection, which fails: the server speaks no TLS.
    expect(await failure(https.fromUrl(`https://127.0.0.1:${port}/ok.jpg`))).toMatchObject({ code: 'upstream_unavailable' });
  });

  it('refuses a name that resolves to a loopback address, checking the address it would connect to', async () => {
    const named = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: { key: 'partpay.imageFetch', allowedHosts: [`localhost:${port}`] } });
    const before = accepted.server;
    const error = await failure(named.fromUrl(`https://localhost:${port}/ok.jpg`));
    expect(error).toMatchObject(refused);
    expect(error.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address, not allowed by partpay\.imageFetch\.allowedAddresses/);
    expect(accepted.server).toBe(before);
  });

  it('refuses a redirect to another host, even a listed one, without connecting to it', async () => {
    const both = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES, fetchPolicy: { ...LOOPBACK, allowedHosts: [`127.0.0.1:${port}`, `127.0.0.1:${otherPort}`] } });
    for (const start of ['/away', '/hop']) {
      const before = accepted.other;
      const error = await failure(both.fromUrl(`${base}${start}`));
      expect(error).toMatchObject(refused);
      expect(error.message).toContain(`redirect from 127.0.0.1:${port} to 127.0.0.1:${otherPort} refused`);
      expect(accepted.other).toBe(before);
    }
  });

  it('gives up on a body dripped a byte a second once the whole-fetch time limit passes', async () => {
    const quick = createQrImages({ fetchTimeoutMs: 1200, maxBytes: MAX_BYTES, fetchPolicy: LOOPBACK });
    // The drip never ends and never idles long enough for a per-read timeout: only the whole-fetch limit ends it.
    const error = await failure(quick.fromUrl(`${base}/drip`));
    expect(error).toMatchObject({ code: 'upstream_timeout', retryable: true });
  });
});
