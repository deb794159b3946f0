/**
 * Entry of a QR worker thread (see qr-pool.ts): decodes PartPay's images and renders profiles
 * off the daemon's event loop. Every answer carries the request's id; pixels and encoded
 * bodies travel back as transferred buffers, not copies.
 */
import { parentPort } from 'node:worker_threads';
import { isAppError, UpstreamError } from '../shared/errors.js';
import { decodeBase64Image, decodeImage } from './image-bytes.js';
import { createJpegGreyDecoder } from './jpeg-wasm.js';
import { renderQr } from './qr-render.js';
import { configureSharp } from './sharp-settings.js';
import type { QrTask, QrTaskAnswer, QrTaskError } from './qr-tasks.js';

configureSharp();
const jpeg = createJpegGreyDecoder();

async function run(task: QrTask): Promise<{ answer: QrTaskAnswer; transfer: ArrayBuffer[] }> {
  if (task.op === 'render') {
    const { body, contentType, etag } = await renderQr(task.image, task.profile);
    // A copy of the body into its own buffer: Buffers from sharp or zlib may share theirs.
    const own = new Uint8Array(body);
    return { answer: { id: task.id, op: 'render', body: own, contentType, etag }, transfer: [own.buffer] };
  }
  const bytes = task.base64 !== undefined ? decodeBase64Image(task.base64, task.maxBytes) : Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.length);
  const image = await decodeImage(bytes, task.maxPixels, jpeg);
  const data = image.data.byteOffset === 0 && image.data.byteLength === image.data.buffer.byteLength ? image.data : image.data.slice();
  return { answer: { id: task.id, op: 'load', image: { data, width: image.width, height: image.height } }, transfer: [data.buffer as ArrayBuffer] };
}

function describe(error: unknown): QrTaskError {
  if (isAppError(error) && error instanceof UpstreamError) return { code: error.code as NonNullable<QrTaskError['code']>, message: error.message, retryable: error.retryable };
  return { message: error instanceof Error ? error.message : String(error) };
}

parentPort?.on('message', (task: QrTask) => {
  run(task).then(
    ({ answer, transfer }) => parentPort?.postMessage(answer, transfer),
    (error: unknown) => parentPort?.postMessage({ id: task.id, error: describe(error) } satisfies QrTaskAnswer),
  );
});
