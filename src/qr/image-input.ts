import { UpstreamError } from '../shared/errors.js';

// What the event loop needs of PartPay's images (errors, size limits, base64): nothing here
// loads sharp, which only the QR worker threads do (see image-bytes.ts).

/**
 * The QR images we accept come from PartPay (its create-order answer, or a URL it gave us),
 * so a bad image is PartPay's bad response, not the terminal's bad request.
 * @example throw invalidImage('not base64')
 */
export function invalidImage(message: string, cause?: unknown): UpstreamError {
  return new UpstreamError('upstream_invalid_response', `QR image: ${message}`, { retryable: false, cause });
}

const DATA_URL = /^data:image\/(?:jpeg|jpg|png);base64,/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The longest base64 text that may hold `maxBytes`: 4 chars per 3 bytes, plus slack for MIME
 * line breaks. Longer text is refused before any regex or decoding.
 * @example maxBase64Length(3) // 20.2
 */
export function maxBase64Length(maxBytes: number): number {
  return Math.ceil(maxBytes / 3) * 4 * 1.05 + 16;
}

/**
 * Decodes PartPay's base64 image (optionally a `data:image/jpeg|jpg|png;base64,` URL, line
 * breaks tolerated), refusing non-base64 text and payloads over `maxBytes` before decoding.
 * @example decodeBase64Image('data:image/jpeg;base64,/9j/4AAQ...', 1_000_000)
 */
export function decodeBase64Image(input: string, maxBytes: number): Buffer {
  let text = input.trim();
  const prefix = DATA_URL.exec(text);
  if (prefix) text = text.slice(prefix[0].length);
  else if (/^data:/i.test(text)) throw invalidImage('data URL is not a base64 JPEG or PNG');
  // Size first, before any regex or decoding; the exact limit is checked on the decoded bytes below.
  if (text.length > maxBase64Length(maxBytes)) throw invalidImage(`larger than ${maxBytes} bytes`);
  text = text.replace(/\s+/g, '');
  if (text.length === 0 || text.length % 4 === 1 || !BASE64.test(text)) throw invalidImage('not base64 text');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length > maxBytes) throw invalidImage(`larger than ${maxBytes} bytes`);
  return bytes;
}
