import { request, type Dispatcher } from 'undici';
import { UpstreamError } from '../shared/errors.js';
import { urlProblem, type EgressPolicy } from '../shared/net/egress-policy.js';
import { createGuardedAgent, egressRefusal } from '../shared/net/guarded-agent.js';
import { discardBody, headerValue } from '../shared/outbound-http.js';
import { invalidImage } from './image-input.js';

export interface ImageFetchOptions {
  /** Whole fetch, redirects and body included. */
  timeoutMs: number;
  /** Largest body accepted, counted while streaming. */
  maxBytes: number;
  /**
   * Which URLs, hosts and addresses may be fetched, checked on the URL and on every address
   * connected to. Default: https to public addresses, any host.
   */
  policy?: EgressPolicy | undefined;
  /** Redirects followed, each within the first URL's origin and checked like it. */
  maxRedirects?: number | undefined;
}

const ACCEPTED_TYPES = new Set(['image/jpeg', 'image/png']);

/**
 * Creates the fetcher for QR image URLs PartPay gives us. Every failure is an
 * {@link UpstreamError}: timeout → 'upstream_timeout' and network → 'upstream_unavailable'
 * (both retryable); HTTP 5xx/429 → 'upstream_unavailable'; other statuses →
 * 'upstream_rejected'; wrong type, too big, a URL, redirect or address the policy refuses →
 * 'upstream_invalid_response', before any connection to it. A redirect may not leave the first
 * URL's origin (scheme, host, port), even for another allowed host.
 * @example
 * const fetchImage = createImageFetcher({ timeoutMs: 5000, maxBytes: 1_000_000, policy: { key: 'partpay.imageFetch', allowedHosts: ['*.zip.co'] } });
 * const bytes = await fetchImage(url);
 */
export function createImageFetcher(options: ImageFetchOptions): (url: string) => Promise<Buffer> {
  const maxRedirects = options.maxRedirects ?? 3;
  const policy = options.policy ?? { key: 'partpay.imageFetch' };
  // One keep-alive pool per fetcher, every connection's address checked; idle sockets are
  // unref'd by undici and need no close.
  const dispatcher = createGuardedAgent(policy);

  function checkUrl(raw: string, base?: URL): URL {
    let url: URL;
    try {
      url = new URL(raw, base);
    } catch (error) {
      throw invalidImage('URL is not valid', error);
    }
    if (base !== undefined && url.origin !== base.origin) {
      throw invalidImage(`redirect from ${base.host} to ${url.host} refused: an image URL may redirect only within its own origin`);
    }
    const problem = urlProblem(url, policy);
    if (problem !== null) throw invalidImage(`URL refused: ${problem}`);
    return url;
  }

  return async function fetchImage(raw: string): Promise<Buffer> {
    let url = checkUrl(raw);
    // One signal for the whole fetch (not per-phase timers): a body dripped slowly enough to
    // dodge an idle timeout must still end on time. An image fetch is rare; the cost is fine.
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      for (let hop = 0; ; hop++) {
        // request() never follows redirects: each target goes through checkUrl, not just the first.
        const response = await request(url, { dispatcher, signal, headers: { accept: 'image/jpeg, image/png', 'user-agent': 'node' } });
        const location = headerValue(response.headers, 'location');
        if (response.statusCode >= 300 && response.statusCode < 400 && location !== null) {
          discardBody(response.body);
          if (hop >= maxRedirects) throw invalidImage(`more than ${maxRedirects} redirects`);
          url = checkUrl(location, url);
          continue;
        }
        return await readImage(response, options.maxBytes);
      }
    } catch (error) {
      throw translate(error, signal, url);
    }
  };
}

async function readImage(response: Dispatcher.ResponseData, maxBytes: number): Promise<Buffer> {
  const { statusCode, headers, body } = response;
  if (statusCode < 200 || statusCode >= 300) {
    discardBody(body);
    const transient = statusCode >= 500 || statusCode === 429;
    throw new UpstreamError(transient ? 'upstream_unavailable' : 'upstream_rejected', `QR image: HTTP ${statusCode}`, {
      retryable: transient,
      upstreamStatus: statusCode,
    });
  }
  const type = (headerValue(headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!ACCEPTED_TYPES.has(type)) {
    discardBody(body);
    throw invalidImage(`content type '${type}' is not image/jpeg or image/png`);
  }
  const declared = Number(headerValue(headers, 'content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    discardBody(body);
    throw invalidImage(`larger than ${maxBytes} bytes (Content-Length ${declared})`);
  }
  // Count while streaming: Content-Length may be missing (chunked) or wrong.
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      discardBody(body);
      throw invalidImage(`larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  if (total === 0) throw invalidImage('empty body');
  return Buffer.concat(chunks, total);
}

function translate(error: unknown, signal: AbortSignal, url: URL): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const refusal = egressRefusal(error);
  if (refusal !== null) return invalidImage(`URL refused: ${refusal.message}`, refusal);
  // The timeout may surface as the signal's TimeoutError or as the body stream's error.
  if (signal.aborted) {
    return new UpstreamError('upstream_timeout', `QR image: ${url.origin} did not answer in time`, { retryable: true, cause: error });
  }
  return new UpstreamError('upstream_unavailable', `QR image: cannot reach ${url.origin}`, { retryable: true, cause: error });
}
