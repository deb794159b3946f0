import type { DisplayProfile } from './display-profile.js';
import type { GreyImage } from './grey-image.js';
import type { UpstreamError } from '../shared/errors.js';

type UpstreamCode = ConstructorParameters<typeof UpstreamError>[0];

/** What the daemon asks of a QR worker thread: decode an image (base64 text or bytes) or render a profile. */
export type QrTask =
  | { id: number; op: 'load'; base64: string; bytes?: undefined; maxBytes: number; maxPixels: number }
  | { id: number; op: 'load'; base64?: undefined; bytes: Uint8Array; maxBytes: number; maxPixels: number }
  | { id: number; op: 'render'; image: GreyImage; profile: DisplayProfile };

/** A failure inside the worker: an UpstreamError keeps its code and flags, anything else only its message. */
export type QrTaskError = { code?: UpstreamCode; message: string; retryable?: boolean };

/** A worker's answer to the task with the same id. */
export type QrTaskAnswer =
  | { id: number; op: 'load'; image: GreyImage; error?: undefined }
  | { id: number; op: 'render'; body: Uint8Array; contentType: 'image/png' | 'image/jpeg' | 'image/webp'; etag: string; error?: undefined }
  | { id: number; error: QrTaskError };

/** A task as sent, without the id the pool gives it. */
export type QrTaskInput = QrTask extends infer T ? (T extends QrTask ? Omit<T, 'id'> : never) : never;

/** The answer a task of operation `Op` gets when it succeeds. */
export type QrTaskResult<Op extends QrTask['op']> = Extract<QrTaskAnswer, { op: Op }>;
