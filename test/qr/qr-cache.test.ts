import { beforeAll, describe, expect, it } from 'vitest';
import { displayProfileSchema } from '../../src/qr/display-profile.js';
import { createQrCache } from '../../src/qr/qr-cache.js';
import { createQrImages, type QrSource } from '../../src/qr/qr-images.js';

const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: 100_000 });
const png = displayProfileSchema.parse({});
const jpeg = displayProfileSchema.parse({ format: 'jpeg', size: 200 });
let source: QrSource;

beforeAll(async () => {
  source = await images.fromText('TRAN-0001');
});

/** A load that counts its calls and can be made to wait or fail. */
function counted(result: () => Promise<QrSource> = async () => source) {
  const load = async () => {
    load.calls++;
    return result();
  };
  load.calls = 0;
  return load;
}

describe('QR cache', () => {
  it('loads once and serves the second get from the cache', async () => {
    const cache = createQrCache(images, { maxEntries: 10 });
    const load = counted();
    const first = await cache.get('pay-1', load, png);
    const second = await cache.get('pay-1', load, png);
    expect(load.calls).toBe(1);
    expect(second).toBe(first);
    expect(first.contentType).toBe('image/png');
  });

  it('shares one load between concurrent gets, across profiles', async () => {
    const cache = createQrCache(images, { maxEntries: 10 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = counted(async () => {
      await gate;
      return source;
    });
    const pending = [cache.get('pay-1', load, png), cache.get('pay-1', load, png), cache.get('pay-1', load, jpeg)];
    release();
    const [a, b, c] = await Promise.all(pending);
    expect(load.calls).toBe(1);
    expect(a).toBe(b);
    expect(c?.contentType).toBe('image/jpeg');
  });

  it('does not cache a failed load', async () => {
    const cache = createQrCache(images, { maxEntries: 10 });
    let fail = true;
    const load = counted(async () => {
      if (fail) throw new Error('PartPay is down');
      return source;
    });
    await expect(cache.get('pay-1', load, png)).rejects.toThrow('PartPay is down');
    expect(cache.peek('pay-1')).toBeUndefined();
    fail = false;
    expect((await cache.get('pay-1', load, png)).contentType).toBe('image/png');
    expect(cache.peek('pay-1')).toBe(source);
    expect(load.calls).toBe(2);
  });

  it('caches renders per profile, loading the source once', async () => {
    const renders: string[] = [];
    const cache = createQrCache(
      {
        render: async (src, profile) => {
          renders.push(profile.format);
          return images.render(src, profile);
        },
      },
      { maxEntries: 10 },
    );
    const load = counted();
    const a = await cache.get('pay-1', load, png);
    const b = await cache.get('pay-1', load, jpeg);
    await cache.get('pay-1', load, png);
    await cache.get('pay-1', load, jpeg);
    expect(a.contentType).toBe('image/png');
    expect(b.contentType).toBe('image/jpeg');
    expect(a.etag).not.toBe(b.etag);
    expect(renders).toEqual(['png', 'jpeg']);
    expect(load.calls).toBe(1);
  });

  it('keeps keys apart', async () => {
    const cache = createQrCache(images, { maxEntries: 10 });
    const other = await images.fromText('TRAN-0002');
    const first = await cache.get('pay-1', counted(), png);
    const second = await cache.get('pay-2', counted(async () => other), png);
    expect(second.etag).not.toBe(first.etag);
    expect(await cache.peek('pay-2')?.text()).toBe('TRAN-0002');
    expect(cache.peek('pay-1')).toBe(source);
  });

  it('peeks the source and evicts a key with its renders', async () => {
    const cache = createQrCache(images, { maxEntries: 10 });
    const load = counted();
    expect(cache.peek('pay-1')).toBeUndefined();
    await cache.get('pay-1', load, png);
    expect(cache.peek('pay-1')).toBe(source);
    cache.evict('pay-1');
    expect(cache.peek('pay-1')).toBeUndefined();
    await cache.get('pay-1', load, png);
    expect(load.calls).toBe(2);
  });

  it('does not store a load that finishes after its key was evicted', async () => {
    const cache = createQrCache(images, { maxEntries: 10 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = counted(async () => {
      await gate;
      return source;
    });
    const pending = cache.get('pay-1', load, png);
    cache.evict('pay-1');
    release();
    await pending;
    expect(cache.peek('pay-1')).toBeUndefined();
    await cache.get('pay-1', load, png);
    expect(load.calls).toBe(2);
  });

  it('loads a source without rendering it, and shares it with later renders', async () => {
    let renders = 0;
    const cache = createQrCache(
      {
        render: async (src, profile) => {
          renders++;
          return images.render(src, profile);
        },
      },
      { maxEntries: 10 },
    );
    const load = counted();
    const [a, b] = await Promise.all([cache.source('pay-1', load), cache.source('pay-1', load)]);
    expect(a).toBe(source);
    expect(b).toBe(source);
    expect(renders).toBe(0);
    await cache.get('pay-1', load, png);
    expect(renders).toBe(1);
    expect(load.calls).toBe(1);
  });

  it('stays within maxEntries', async () => {
    const cache = createQrCache(images, { maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) await cache.get(key, counted(), png);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('c')).toBe(source);
  });

  it('stays within its byte budgets, dropping the least recently used sources and renders', async () => {
    const pixels = source.width * source.height;
    const rendered = await images.render(source, png);
    // Room for two sources and two renders, however many entries are allowed.
    const cache = createQrCache(images, { maxEntries: 100, maxSourceBytes: pixels * 2, maxRenderBytes: rendered.body.length * 2 });
    const loads = { a: counted(), b: counted(), c: counted() };
    for (const key of ['a', 'b', 'c'] as const) await cache.get(key, loads[key], png);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toBe(source);
    expect(cache.peek('c')).toBe(source);
    // 'a' lost its render too: asking again loads it again.
    await cache.get('a', loads.a, png);
    expect(loads.a.calls).toBe(2);
    // 'c' kept both.
    await cache.get('c', loads.c, png);
    expect(loads.c.calls).toBe(1);
  });
});
