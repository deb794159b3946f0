import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQrImages } from '../../src/qr/qr-images.js';
import { UpstreamError } from '../../src/shared/errors.js';
import { makeQrJpeg } from './helpers.js';

const TEXT = 'https://partpay.example/qr/order-42';
const MAX_BYTES = 64 * 1024;
let server: Server;
let base: string;
let jpeg: Buffer;
const open = new Set<ServerResponse>();

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
    case '/busy':
      res.writeHead(503).end();
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

beforeAll(async () => {
  jpeg = await makeQrJpeg(TEXT);
  server = createServer(route);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

const images = createQrImages({ fetchTimeoutMs: 1500, maxBytes: MAX_BYTES });

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

  it('checks every hop against allowedUrl', async () => {
    const seen: string[] = [];
    const guarded = createQrImages({
      fetchTimeoutMs: 1500,
      maxBytes: MAX_BYTES,
      allowedUrl: (url) => {
        seen.push(url.pathname);
        return url.pathname !== '/ok.jpg';
      },
    });
    const error = await failure(guarded.fromUrl(`${base}/redirect`));
    expect(error).toMatchObject({ code: 'upstream_invalid_response' });
    expect(seen).toEqual(['/redirect', '/ok.jpg']);
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
    const quick = createQrImages({ fetchTimeoutMs: 200, maxBytes: MAX_BYTES });
    const error = await failure(quick.fromUrl(`${base}${path}`));
    expect(error).toMatchObject({ code: 'upstream_timeout', retryable: true, status: 504 });
    expect(error.cause).toBeDefined();
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
