import { UpstreamError } from '../shared/errors.js';
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
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      for (let hop = 0; ; hop++) {
        // Manual redirects so every target goes through checkUrl, not just the first.
        const response = await fetch(url, { signal, redirect: 'manual', headers: { accept: 'image/jpeg, image/png' } });
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location !== null) {
          await response.body?.cancel();
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

async function readImage(response: Response, maxBytes: number): Promise<Buffer> {
  if (!response.ok) {
    await response.body?.cancel();
    const transient = response.status >= 500 || response.status === 429;
    throw new UpstreamError(transient ? 'upstream_unavailable' : 'upstream_rejected', `QR image: HTTP ${response.status}`, {
      retryable: transient,
      upstreamStatus: response.status,
    });
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!ACCEPTED_TYPES.has(type)) {
    await response.body?.cancel();
    throw invalidImage(`content type '${type}' is not image/jpeg or image/png`);
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw invalidImage(`larger than ${maxBytes} bytes (Content-Length ${declared})`);
  }
  if (!response.body) throw invalidImage('empty body');
  // Count while streaming: Content-Length may be missing (chunked) or wrong.
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw invalidImage(`larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function translate(error: unknown, signal: AbortSignal, url: URL): UpstreamError {
  if (error instanceof UpstreamError) return error;
  // The timeout signal may surface as a TimeoutError, an AbortError or a stream 'terminated'.
  if (signal.aborted) {
    return new UpstreamError('upstream_timeout', `QR image: ${url.origin} did not answer in time`, { retryable: true, cause: error });
  }
  return new UpstreamError('upstream_unavailable', `QR image: cannot reach ${url.origin}`, { retryable: true, cause: error });
}
