import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { expressServerClasses } from '../shared/http/server-classes.js';
import { DEFAULT_TLS_CIPHERS, DEFAULT_TLS_MIN_VERSION } from '../shared/http/tls-profile.js';

export interface ListenOptions {
  host: string;
  port: number;
  /** PEM certificate and key: serve HTTPS, by default with the ECDHE + AEAD profile of {@link DEFAULT_TLS_CIPHERS}. */
  tls?: { certFile: string; keyFile: string; minVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined; ciphers?: string | undefined } | undefined;
}

/**
 * Connections the kernel may hold for us before we accept them (it caps this at
 * `net.core.somaxconn`, 4096 on Debian 12). Node's default, 511, overflowed when a burst of
 * connections met a busy event loop (the benchmark's open loop at three times capacity: the queue
 * full at 512, 116,000 overflows in 30 s, and the clients saw `ECONNRESET`); a till that
 * connects during a burst should wait its turn, not be reset.
 */
export const LISTEN_BACKLOG = 4096;

/**
 * Starts one HTTP(S) listener for `handler` and resolves with the server and its base URL.
 * TLS files are read at start so a renewed certificate takes effect on restart; the client
 * picks among the allowed suites (all of them strong), as Mozilla's profiles advise. An express
 * app's requests and responses are built with its prototypes (see {@link expressServerClasses}).
 */
export async function listen(handler: RequestListener, options: ListenOptions): Promise<{ server: Server; url: string }> {
  const classes = expressServerClasses(handler);
  const tls = options.tls;
  const server: Server = tls
    ? (createHttpsServer(
        { ...classes, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), minVersion: tls.minVersion ?? DEFAULT_TLS_MIN_VERSION, ciphers: tls.ciphers ?? DEFAULT_TLS_CIPHERS },
        handler,
      ) as unknown as Server)
    : createHttpServer(classes, handler);
  // Longer than the usual proxy idle timeout, so the proxy closes first.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}` };
}

/** Stops accepting, lets in-flight requests finish for up to `graceMs`, then drops what is left. */
export async function closeGracefully(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(grace);
}
