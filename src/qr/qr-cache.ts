import { LRUCache } from 'lru-cache';
import { profileKey, type DisplayProfile } from './display-profile.js';
import type { QrImages, QrSource, RenderedQr } from './qr-images.js';

export interface QrCacheOptions {
  /** Sources kept (one per payment). */
  maxEntries: number;
  /** Renders kept, one per payment and profile; default 4 × maxEntries. */
  maxRenders?: number | undefined;
  /**
   * Pixel bytes of the sources kept (a 270 px PartPay JPEG is 73 kB of pixels); default 8 MB, about
   * 110 codes. A source is needed for a payment's first render (and for its text); once rendered,
   * the render serves the terminal, so a source pushed out costs a reload only for a second profile.
   */
  maxSourceBytes?: number | undefined;
  /** Encoded bytes of the renders kept; default 8 MB (a PNG profile's render is 1-4 kB). */
  maxRenderBytes?: number | undefined;
}

export interface QrCache {
  /** The render of `key`'s source for `profile`, loading the source with `load` only on a miss. */
  get(key: string, load: () => Promise<QrSource>, profile: DisplayProfile): Promise<RenderedQr>;
  /** `key`'s source, loading it with `load` only on a miss (e.g. to read its text). */
  source(key: string, load: () => Promise<QrSource>): Promise<QrSource>;
  /** `key`'s cached source, if any, without loading or refreshing it. */
  peek(key: string): QrSource | undefined;
  /** Forgets `key`'s source and every render of it; a load in flight is not stored. */
  evict(key: string): void;
}

/**
 * Bounded caches of QR sources per key (a payment id) and of renders per (key, profile).
 * Concurrent requests for the same key share one load, and for the same render one render;
 * a failed load or render is not cached, so the next request tries again.
 * @example
 * const cache = createQrCache(images, { maxEntries: 500 });
 * const qr = await cache.get(payment.id, () => images.fromBase64(order.qrImage), profile);
 */
export function createQrCache(images: Pick<QrImages, 'render'>, options: QrCacheOptions): QrCache {
  // Bounded by count and by bytes: a chain's thousand open payments must not hold the box's
  // memory; a source or render pushed out is just loaded or rendered again when asked for.
  const sources = new LRUCache<string, QrSource>({
    max: options.maxEntries,
    maxSize: options.maxSourceBytes ?? 8 * 1024 * 1024,
    sizeCalculation: (s) => Math.max(1, s.width * s.height),
  });
  const renders = new LRUCache<string, RenderedQr>({
    max: options.maxRenders ?? options.maxEntries * 4,
    maxSize: options.maxRenderBytes ?? 8 * 1024 * 1024,
    sizeCalculation: (r) => Math.max(1, r.body.length),
  });
  const loading = new Map<string, Promise<QrSource>>();
  const rendering = new Map<string, Promise<RenderedQr>>();

  function renderKey(key: string, profile: string): string {
    // NUL cannot occur in a payment id or a profile key, so keys cannot collide.
    return `${key}\u0000${profile}`;
  }

  function source(key: string, load: () => Promise<QrSource>): Promise<QrSource> {
    const cached = sources.get(key);
    if (cached) return Promise.resolve(cached);
    return shared(loading, key, async (isCurrent) => {
      const loaded = await load();
      // Store only if nobody evicted the key while we were loading.
      if (isCurrent()) sources.set(key, loaded);
      return loaded;
    });
  }

  return {
    get(key, load, profile) {
      const rk = renderKey(key, profileKey(profile));
      // A render outlives its source in the LRU only if the source was evicted by size; it
      // is still correct for the key, so serve it.
      const hit = renders.get(rk);
      if (hit) return Promise.resolve(hit);
      return shared(rendering, rk, async (isCurrent) => {
        const src = await source(key, load);
        const rendered = await images.render(src, profile);
        if (isCurrent()) renders.set(rk, rendered);
        return rendered;
      });
    },
    source,
    peek: (key) => sources.peek(key),
    evict(key) {
      sources.delete(key);
      loading.delete(key);
      // Evictions are rare (a payment finished) and the maps are bounded, so a scan is fine.
      const prefix = renderKey(key, '');
      for (const map of [renders, rendering]) {
        for (const rk of [...map.keys()]) if (rk.startsWith(prefix)) map.delete(rk);
      }
    },
  };
}

/**
 * Runs `run` once per key while it is in flight: callers arriving meanwhile get the same
 * promise. `isCurrent()` turns false once the key was evicted (or the run finished), so a
 * late result is not stored; a failure just leaves the map, so the next call retries.
 */
function shared<T>(inFlight: Map<string, Promise<T>>, key: string, run: (isCurrent: () => boolean) => Promise<T>): Promise<T> {
  const existing = inFlight.get(key);
  if (existing) return existing;
  const promise: Promise<T> = run(() => inFlight.get(key) === promise).finally(() => {
    if (inFlight.get(key) === promise) inFlight.delete(key);
  });
  inFlight.set(key, promise);
  return promise;
}
