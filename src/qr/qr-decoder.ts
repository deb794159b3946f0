import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { GreyImage } from './grey-image.js';

/** jsQR's cost grows with the pixel count; a payment QR decodes fine at this edge. */
const MAX_DECODE_EDGE = 800;
/** Below this edge modules may be only a pixel or two wide, which jsQR often misses. */
const UPSCALE_BELOW_EDGE = 400;

// The worker owns all the decoding work: it gets the grey pixels, shrinks them to
// MAX_DECODE_EDGE, and tries jsQR on the image as it is; only if that fails does it build the
// second attempt (thresholded halfway between the darkest and lightest pixel, doubled when
// small), since most PartPay images read on the first. It is plain CommonJS evaluated from a
// string so that it works the same from dist/ and under the test runner, which does not
// compile worker files; hence its helpers live here, not in grey-image.ts.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const jsQR = require(workerData.jsqrPath).default;
const { maxEdge, upscaleBelow } = workerData;

function shrink(img) {
  const longest = Math.max(img.width, img.height);
  if (longest <= maxEdge) return img;
  const width = Math.max(1, Math.round((img.width * maxEdge) / longest));
  const height = Math.max(1, Math.round((img.height * maxEdge) / longest));
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * img.height) / height) * img.width;
    for (let x = 0; x < width; x++) data[y * width + x] = img.data[row + Math.floor((x * img.width) / width)];
  }
  return { data, width, height };
}

function midGrey(data) {
  let min = 255, max = 0;
  for (const v of data) { if (v < min) min = v; if (v > max) max = v; }
  return max > min ? (min + max + 1) >> 1 : 128;
}

function read(img, scale, threshold) {
  const w = img.width * scale, h = img.height * scale;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / scale) * img.width;
    for (let x = 0; x < w; x++) {
      let v = img.data[row + Math.floor(x / scale)];
      if (threshold !== null) v = v < threshold ? 0 : 255;
      const o = (y * w + x) * 4;
      rgba[o] = rgba[o + 1] = rgba[o + 2] = v;
      rgba[o + 3] = 255;
    }
  }
  const found = jsQR(rgba, w, h, { inversionAttempts: 'dontInvert' });
  return found ? found.data : null;
}

parentPort.on('message', ({ id, image }) => {
  try {
    const img = shrink(image);
    let text = read(img, 1, null);
    if (text === null) text = read(img, Math.max(img.width, img.height) < upscaleBelow ? 2 : 1, midGrey(img.data));
    parentPort.postMessage({ id, text });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

type Answer = { id: number; text: string | null; error?: undefined } | { id: number; error: string };

/**
 * Reads QR text from pixels on a worker thread: jsQR takes tens of milliseconds on a PartPay
 * image, which on the event loop would stall every other request. The main thread only copies
 * the grey pixels (one byte each) and posts them; everything else happens in the worker. One
 * worker, started on first use, never keeping the process alive.
 * @example const text = await decoder.decode(image); // '00020101...' or null
 */
export function createQrDecoder() {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (text: string | null) => void; reject: (error: Error) => void }>();

  const start = (): Worker => {
    const jsqrPath = createRequire(import.meta.url).resolve('jsqr');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { jsqrPath, maxEdge: MAX_DECODE_EDGE, upscaleBelow: UPSCALE_BELOW_EDGE } });
    w.unref();
    w.on('message', (answer: Answer) => {
      const p = pending.get(answer.id);
      pending.delete(answer.id);
      if (answer.error !== undefined) p?.reject(new Error(`QR decoder: ${answer.error}`));
      else p?.resolve(answer.text);
    });
    const fail = (error: Error) => {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
      if (worker === w) worker = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`QR decoder worker exited with code ${code}`)));
    return w;
  };

  return {
    decode(image: GreyImage): Promise<string | null> {
      worker ??= start();
      const id = nextId++;
      // A copy, transferred: the caller keeps its pixels for rendering.
      const data = image.data.slice();
      return new Promise<string | null>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        (worker as Worker).postMessage({ id, image: { data, width: image.width, height: image.height } }, [data.buffer]);
      });
    },
    async close(): Promise<void> {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}

/** What QR images need of a decoder; tests may pass their own (e.g. one that counts calls). */
export interface QrTextDecoder {
  decode(image: GreyImage): Promise<string | null>;
}

export type QrDecoder = ReturnType<typeof createQrDecoder>;
