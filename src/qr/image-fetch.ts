import { Agent, request, type Dispatcher } from 'undici';
import { UpstreamError } from '../shared/errors.js';
import { discardBody, headerValue } from '../shared/outbound-http.js';
import { invalidImage } from './image-bytes.js';

export interface ImageFetchOptions {
  /** Whole fetch, redirects and body included. */
  timeoutMs: number;
  /** Largest body accepted, counted while streaming. */
  maxBytes: number;
  /** Extra guard on every URL fetched, redirect targets included (e.g. PartPay's hosts only). */
  allowedUrl?: ((url: URL) => boolean) | undefined;
  /** Redirects followed, each target checked like the first URL. */
  maxRedirects?: number | undefined;
}

const ACCEPTED_TYPES = new Set(['image/jpeg', 'image/png']);

/**
 * Creates the fetcher for QR image URLs PartPay gives us. Every failure is an
 * {@link UpstreamError}: timeout → 'upstream_timeout' and network → 'upstream_unavailable'
 * (both retryable); HTTP 5xx/429 → 'upstream_unavailable'; other statuses →
 * 'upstream_rejected'; wrong type, too big, disallowed URL → 'upstream_invalid_response'.
 * @example const fetchImage = createImageFetcher({ timeoutMs: 5000, maxBytes: 1_000_000 }); const bytes = await fetchImage(url);
 */
export function createImageFetcher(options: ImageFetchOptions): (url: string) => Promise<Buffer> {
  const maxRedirects = options.maxRedirects ?? 3;
  // One keep-alive pool per fetcher; idle sockets are unref'd by undici and need no close.
  const dispatcher = new Agent();

  function checkUrl(raw: string, base?: URL): URL {
    let url: URL;
    try {
      url = new URL(raw, base);
    } catch (error) {
      throw invalidImage('URL is not valid', error);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidImage(`URL scheme ${url.protocol} is not http or https`);
    if (options.allowedUrl && !options.allowedUrl(url)) throw invalidImage(`URL host ${url.host} is not allowed`);
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
  // The timeout may surface as the signal's TimeoutError or as the body stream's error.
  if (signal.aborted) {
    return new UpstreamError('upstream_timeout', `QR image: ${url.origin} did not answer in time`, { retryable: true, cause: error });
  }
  return new UpstreamError('upstream_unavailable', `QR image: cannot reach ${url.origin}`, { retryable: true, cause: error });
}
