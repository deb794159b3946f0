import type { DisplayProfile } from './display-profile.js';
import type { GreyImage } from './grey-image.js';
import type { UpstreamError } from '../shared/errors.js';
import type { ImageFetchOptions } from './image-fetch.js';

type UpstreamCode = ConstructorParameters<typeof UpstreamError>[0];

/**
 * What the daemon asks of a QR worker thread: decode a base64 image, fetch an image URL and
 * decode it, or render a profile.
 */
export type QrTask =
  | { id: number; op: 'load'; base64: string; maxBytes: number; maxPixels: number }
  | { id: number; op: 'fetch'; url: string; fetch: ImageFetchOptions; maxPixels: number }
  | { id: number; op: 'render'; image: GreyImage; profile: DisplayProfile };

/**
 * A failure inside the worker: an UpstreamError keeps its code, flags and upstream status, and
 * its cause's message; anything else only its message.
 */
export type QrTaskError = { code?: UpstreamCode; message: string; retryable?: boolean; upstreamStatus?: number; cause?: string };

/** A worker's answer to the task with the same id. */
export type QrTaskAnswer =
  | { id: number; op: 'load'; image: GreyImage; error?: undefined }
  | { id: number; op: 'fetch'; image: GreyImage; error?: undefined }
  | { id: number; op: 'render'; body: Uint8Array; contentType: 'image/png' | 'image/jpeg' | 'image/webp'; etag: string; error?: undefined }
  | { id: number; error: QrTaskError };

/** A task as sent, without the id the pool gives it. */
export type QrTaskInput = QrTask extends infer T ? (T extends QrTask ? Omit<T, 'id'> : never) : never;

/** The answer a task of operation `Op` gets when it succeeds. */
export type QrTaskResult<Op extends QrTask['op']> = Extract<QrTaskAnswer, { op: Op }>;
