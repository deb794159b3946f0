import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { shrinkTo, toRgba, type GreyImage } from './grey-image.js';

/** jsQR's cost grows with the pixel count; a payment QR decodes fine at this edge. */
const MAX_DECODE_EDGE = 800;
/** Below this edge modules may be only a pixel or two wide, which jsQR often misses. */
const UPSCALE_BELOW_EDGE = 400;

/** One jsQR attempt: RGBA pixels and their size. */
interface Attempt {
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
}

/** Threshold halfway between the darkest and lightest pixel, so dim or washed-out scans split cleanly. */
function midGrey(image: GreyImage): number {
  let min = 255;
  let max = 0;
  for (const v of image.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return max > min ? (min + max + 1) >> 1 : 128;
}

/** The image as it is, then thresholded (and doubled when small): two bounded attempts. */
export function decodeAttempts(image: GreyImage): Attempt[] {
  const src = shrinkTo(image, MAX_DECODE_EDGE);
  const scale = Math.max(src.width, src.height) < UPSCALE_BELOW_EDGE ? 2 : 1;
  return [
    { rgba: toRgba(src, 1, null), width: src.width, height: src.height },
    { rgba: toRgba(src, scale, midGrey(src)), width: src.width * scale, height: src.height * scale },
  ];
}

// The worker runs jsQR only; it is plain CommonJS evaluated from a string so that it works the
// same from dist/ and under the test runner, which does not compile worker files.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const jsQR = require(workerData.jsqrPath).default;
parentPort.on('message', ({ id, attempts }) => {
  let text = null;
  for (const a of attempts) {
    const found = jsQR(a.rgba, a.width, a.height, { inversionAttempts: 'dontInvert' });
    if (found) { text = found.data; break; }
  }
  parentPort.postMessage({ id, text });
});
`;

/**
 * Reads QR text from pixels on a worker thread: jsQR takes tens of milliseconds on a PartPay
 * image, which on the event loop would stall every other request. One worker, started on
 * first use, never keeping the process alive.
 * @example const text = await decoder.decode(image); // '00020101...' or null
 */
export function createQrDecoder() {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (text: string | null) => void; reject: (error: Error) => void }>();

  const start = (): Worker => {
    const jsqrPath = createRequire(import.meta.url).resolve('jsqr');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { jsqrPath } });
    w.unref();
    w.on('message', ({ id, text }: { id: number; text: string | null }) => {
      pending.get(id)?.resolve(text);
      pending.delete(id);
    });
    const fail = (error: Error) => {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
      worker = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`QR decoder worker exited with code ${code}`)));
    return w;
  };

  return {
    decode(image: GreyImage): Promise<string | null> {
      worker ??= start();
      const id = nextId++;
      const attempts = decodeAttempts(image);
      return new Promise<string | null>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        (worker as Worker).postMessage({ id, attempts }, attempts.map((a) => a.rgba.buffer as ArrayBuffer));
      });
    },
    async close(): Promise<void> {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}

export type QrDecoder = ReturnType<typeof createQrDecoder>;
