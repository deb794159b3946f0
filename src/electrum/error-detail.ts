import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { ErrorDetail, ErrorType } from './schema-models.js';

/** What {@link errorDetail} needs; everything but the type and message is optional. */
export interface ErrorDetailInput {
  errorType: ErrorType;
  /** Short text for an operator; cut to the spec's 40 characters. */
  errorMessage: string;
  /** Free-form detail. The spec types it as an object, so a string becomes `{ message }`. */
  detailMessage?: string | Record<string, unknown> | undefined;
  /** The id of the original request when an advice failed. */
  originalId?: string | undefined;
  tranId?: string | undefined;
  providerErrorCode?: string | undefined;
  providerErrorMsg?: string | undefined;
  providerRef?: string | undefined;
}

/** `ErrorDetail.errorMessage` limit. */
const ERROR_MESSAGE_MAX = 40;

/**
 * Cuts `text` to at most `max` UTF-16 code units (what zod counts; never more code points
 * than Ajv counts) without splitting a surrogate pair, ending with `…` when cut.
 * @example truncateText('abcdef', 4) // 'abc…'
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/**
 * A random ErrorDetail id: 15 random bytes as base64url, exactly 20 characters (the spec's
 * `maxLength: 20`, see the errata; a UUID would not fit).
 */
export function errorDetailId(): string {
  return randomBytes(15).toString('base64url');
}

/**
 * Builds a spec-valid ErrorDetail (nulls and undefined left out).
 * @example errorDetail({ errorType: 'NO_SCAN_RECEIVED', errorMessage: 'No scan received', tranId })
 */
export function errorDetail(input: ErrorDetailInput): ErrorDetail {
  const out: ErrorDetail = {
    id: errorDetailId(),
    errorType: input.errorType,
    errorMessage: truncateText(input.errorMessage, ERROR_MESSAGE_MAX),
  };
  if (input.originalId !== undefined) out.originalId = input.originalId;
  if (input.detailMessage !== undefined) {
    out.detailMessage = typeof input.detailMessage === 'string' ? { message: input.detailMessage } : input.detailMessage;
  }
  if (input.providerErrorCode !== undefined) out.providerErrorCode = input.providerErrorCode;
  if (input.providerErrorMsg !== undefined) out.providerErrorMsg = input.providerErrorMsg;
  if (input.providerRef !== undefined) out.providerRef = input.providerRef;
  if (input.tranId !== undefined) out.tranId = input.tranId;
  return out;
}

/**
 * Formats a zod issue path the way a reader of the spec writes it.
 * @example formatPath(['thirdPartyIdentifiers', 0, 'institutionId']) // 'thirdPartyIdentifiers[0].institutionId'
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'body' : out;
}

/** At most this many issues are listed in `detailMessage`. */
const MAX_ISSUES = 10;

/**
 * A FORMAT_ERROR ErrorDetail for a failed zod parse. `errorMessage` names the first bad
 * field (`Missing originator.terminalId`, `Invalid amounts.requestAmount.currency`);
 * `detailMessage.issues` lists each field path with zod's message.
 * @example
 * const parsed = paymentRequestSchema.safeParse(body);
 * if (!parsed.success) res.status(400).json(formatErrorFromZod(parsed.error, { originalId: body.id }));
 */
export function formatErrorFromZod(error: z.ZodError, context: { originalId?: string; tranId?: string } = {}): ErrorDetail {
  const issues = error.issues.slice(0, MAX_ISSUES).map((issue) => ({ path: formatPath(issue.path), code: issue.code, message: issue.message }));
  const first = error.issues[0];
  const missing = first?.code === 'invalid_type' && /received undefined/.test(first.message);
  const field = first ? formatPath(first.path) : 'body';
  return errorDetail({
    errorType: 'FORMAT_ERROR',
    errorMessage: `${missing ? 'Missing' : 'Invalid'} ${field}`,
    detailMessage: { field, issues, ...(error.issues.length > MAX_ISSUES ? { moreIssues: error.issues.length - MAX_ISSUES } : {}) },
    ...(context.originalId === undefined ? {} : { originalId: context.originalId }),
    ...(context.tranId === undefined ? {} : { tranId: context.tranId }),
  });
}
