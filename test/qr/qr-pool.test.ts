import { describe, expect, it } from 'vitest';
import { displayProfileSchema, type DisplayProfileInput } from '../../src/qr/display-profile.js';
import { decodeImage } from '../../src/qr/image-bytes.js';
import { decodeBase64Image } from '../../src/qr/image-input.js';
import { createJpegGreyDecoder } from '../../src/qr/jpeg-wasm.js';
import { createQrImages } from '../../src/qr/qr-images.js';
import { createQrPool } from '../../src/qr/qr-pool.js';
import { renderQr } from '../../src/qr/qr-render.js';
import { UpstreamError } from '../../src/shared/errors.js';
import { makeQrJpeg, makeQrPng } from './helpers.js';

const TEXT = '00020101021226300014tenderbridge0108TRAN123452040000';
const MAX_BYTES = 200_000;
const profile = (input: DisplayProfileInput = {}) => displayProfileSchema.parse(input);
const PROFILES = [profile(), profile({ format: 'png', size: 256, margin: 8, colour: 'mono' }), profile({ format: 'jpeg', size: 200, margin: 10, colour: 'mono' }), profile({ format: 'webp', colour: 'colour', quality: 50 })];

/** A worker that dies on a load and refuses every render: the pool's failure paths without a real fault. */
const MISBEHAVING = new URL(
  `data:text/javascript,${encodeURIComponent(`import { parentPort } from 'node:worker_threads';
parentPort.on('message', (task) => {
  if (task.op === 'load') process.exit(7);
  parentPort.postMessage({ id: task.id, error: { message: 'render refused' } });
});`)}`,
);

/** The same pipeline in this thread, as before the pool: decode (WASM for plain JPEGs, else sharp) and render. */
async function inProcess(base64: string, p: ReturnType<typeof profile>) {
  return renderQr(await decodeImage(decodeBase64Image(base64, MAX_BYTES), 4_000_000, createJpegGreyDecoder()), p);
}

const errorOf = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as Error);

describe('QR worker pool', () => {
  it('decodes and renders in the worker exactly what this thread renders, for every profile, JPEG and PNG', async () => {
    const pool = createQrPool();
    const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: MAX_BYTES, pool });
    try {
      for (const image of [await makeQrJpeg(TEXT), await makeQrPng(TEXT)]) {
        const base64 = image.toString('base64');
        const source = await images.fromBase64(base64);
        expect(await source.text()).toBe(TEXT);
        for (const p of PROFILES) {
          const viaPool = await images.render(source, p);
          const here = await inProcess(base64, p);
          expect(viaPool.contentType).toBe(here.contentType);
          expect(viaPool.etag).toBe(here.etag);
          expect(viaPool.body.equals(here.body)).toBe(true);
        }
      }
      expect(pool.workers).toBe(1);
    } finally {
      await pool.close();
      await images.close();
    }
  });

  it('gives a bad image the same UpstreamError, code and message, as decoding it in this thread', async () => {
    const pool = createQrPool();
    const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: MAX_BYTES, pool });
    try {
      const jpeg = await makeQrJpeg(TEXT);
      for (const base64 of [jpeg.subarray(0, jpeg.length >> 1).toString('base64'), 'bm90IGFuIGltYWdl', 'not base64!']) {
        const viaPool = await errorOf(images.fromBase64(base64));
        const here = await errorOf(inProcess(base64, profile()));
        expect(viaPool).toBeInstanceOf(UpstreamError);
        expect(viaPool).toMatchObject({ code: 'upstream_invalid_response', retryable: false, status: 502, message: here?.message });
      }
    } finally {
      await pool.close();
    }
  });

  it('fails the tasks of a worker that dies with a clear error, and starts a fresh one for the next', async () => {
    const pool = createQrPool({ entry: MISBEHAVING });
    const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: MAX_BYTES, pool });
    try {
      const died = await errorOf(images.fromBase64((await makeQrJpeg(TEXT)).toString('base64')));
      expect(died?.message).toBe('QR worker stopped (exit code 7)');
      expect(pool.workers).toBe(0);
      const source = await images.fromText(TEXT);
      await expect(images.render(source, profile())).rejects.toThrow('QR worker: render refused');
      expect(pool.workers).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('ends its workers on close: tasks in flight fail, later ones are refused', async () => {
    const pool = createQrPool();
    const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: MAX_BYTES, pool });
    const source = await images.fromText(TEXT);
    await images.render(source, profile());
    expect(pool.workers).toBe(1);
    const inFlight = errorOf(images.render(source, profile({ format: 'webp' })));
    await pool.close();
    expect(pool.workers).toBe(0);
    expect((await inFlight)?.message).toBe('QR worker pool is closed');
    await expect(images.render(source, profile())).rejects.toThrow('QR worker pool is closed');
  });

  it('starts its first worker on prestart, once, before any task', async () => {
    const pool = createQrPool();
    try {
      expect(pool.workers).toBe(0);
      pool.prestart();
      pool.prestart();
      expect(pool.workers).toBe(1);
      const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: MAX_BYTES, pool });
      await images.render(await images.fromText(TEXT), profile());
      expect(pool.workers).toBe(1);
    } finally {
      await pool.close();
    }
    pool.prestart();
    expect(pool.workers).toBe(0);
  });

  it('spreads tasks over at most `size` workers', async () => {
    const pool = createQrPool({ size: 2 });
    const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: MAX_BYTES, pool });
    try {
      const source = await images.fromText(TEXT);
      await Promise.all(Array.from({ length: 6 }, () => images.render(source, profile({ format: 'webp' }))));
      expect(pool.workers).toBe(2);
    } finally {
      await pool.close();
    }
  });
});
