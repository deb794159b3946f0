/**
 * @tenderbridge/client: a typed client of tenderbridge's terminal API (/v1) for browsers and
 * Node 20. See clients/typescript/README.md.
 */
export { createClient, type TenderbridgeClient, type TerminalStreamEvent, type PaymentStreamEvent, type RefundResult, type CreateOptions } from './client.js';
export { TenderbridgeError, isTenderbridgeError } from './errors.js';
export { newIdempotencyKey, type ClientOptions } from './transport.js';
export { OPERATIONS, type OperationId } from './operations.js';
export type { StreamOptions } from './sse.js';
export type * from './types.js';
