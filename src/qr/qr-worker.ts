/**
 * Entry of a QR worker thread (see qr-pool.ts): fetches and decodes PartPay's images and
 * renders profiles off the daemon's event loop. Every answer carries the request's id; pixels and encoded
 * bodies travel back as transferred buffers, not copies.
 */
import { parentPort } from 'node:worker_threads';
import { isAppError, UpstreamError } from '../shared/errors.js';
import { decodeImage } from './image-bytes.js';
import { decodeBase64Image } from './image-input.js';
import { createImageFetcher, type ImageFetchOptions } from './image-fetch.js';
import { createJpegGreyDecoder } from './jpeg-wasm.js';
import { renderQr } from './qr-render.js';
import { configureSharp } from './sharp-settings.js';
import type { GreyImage } from './grey-image.js';
import type { QrTask, QrTaskAnswer, QrTaskError } from './qr-tasks.js';

configureSharp();
const jpeg = createJpegGreyDecoder();
/** One fetcher (and its keep-alive pool) per distinct set of fetch options: in a daemon, one. */
const fetchers = new Map<string, (url: string) => Promise<Buffer>>();

function fetcherFor(options: ImageFetchOptions): (url: string) => Promise<Buffer> {
  const key = JSON.stringify(options);
  let fetcher = fetchers.get(key);
  if (fetcher === undefined) {
    fetcher = createImageFetcher(options);
    fetchers.set(key, fetcher);
  }
  return fetcher;
}

/** A decoded image as the answer to a load or fetch, its pixels in a buffer of their own so they are transferred, not copied. */
function pixelsAnswer(id: number, op: 'load' | 'fetch', image: GreyImage): { answer: QrTaskAnswer; transfer: ArrayBuffer[] } {
  const data = image.data.byteOffset === 0 && image.data.byteLength === image.data.buffer.byteLength ? image.data : image.data.slice();
  return { answer: { id, op, image: { data, width: image.width, height: image.height } }, transfer: [data.buffer as ArrayBuffer] };
}

async function run(task: QrTask): Promise<{ answer: QrTaskAnswer; transfer: ArrayBuffer[] }> {
  if (task.op === 'render') {
    const { body, contentType, etag } = await renderQr(task.image, task.profile);
    // A copy of the body into its own buffer: Buffers from sharp or zlib may share theirs.
    const own = new Uint8Array(body);
    return { answer: { id: task.id, op: 'render', body: own, contentType, etag }, transfer: [own.buffer] };
  }
  if (task.op === 'fetch') {
    // Fetched here rather than on the daemon's event loop: the TLS, HTTP parsing and body
    // copies of an image URL cost more of a payment's main-thread time than the rest of it.
    return pixelsAnswer(task.id, 'fetch', await decodeImage(await fetcherFor(task.fetch)(task.url), task.maxPixels, jpeg));
  }
  return pixelsAnswer(task.id, 'load', await decodeImage(decodeBase64Image(task.base64, task.maxBytes), task.maxPixels, jpeg));
}

function describe(error: unknown): QrTaskError {
  if (isAppError(error) && error instanceof UpstreamError) {
    const described: QrTaskError = { code: error.code as NonNullable<QrTaskError['code']>, message: error.message, retryable: error.retryable };
    if (error.upstreamStatus !== undefined) described.upstreamStatus = error.upstreamStatus;
    if (error.cause !== undefined) described.cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
    return described;
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

parentPort?.on('message', (task: QrTask) => {
  run(task).then(
    ({ answer, transfer }) => parentPort?.postMessage(answer, transfer),
    (error: unknown) => parentPort?.postMessage({ id: task.id, error: describe(error) } satisfies QrTaskAnswer),
  );
});
