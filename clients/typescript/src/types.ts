/**
 * The shapes the client sends and receives: inferred from the zod schemas that the daemon
 * validates requests with and answers with, the same schemas the OpenAPI document
 * (docs/openapi.json) is generated from. Type-only imports: nothing of the daemon (not even
 * zod) is in the client's JavaScript.
 */
import type { z } from 'zod';
import type { ErrorJson } from '../../../src/shared/http/error-catalogue.js';
import type { profileOverridesSchema } from '../../../src/qr/display-profile.js';
import type { cancelBody, createPaymentBody, getPaymentQuery, refundBody } from '../../../src/terminals/schemas.js';
import type { listPaymentsQuery, terminalEventData, TERMINAL_EVENT_TYPES } from '../../../src/terminals/till-schemas.js';

export type { PaymentJson as Payment, RefundJson as Refund, TerminalJson as Terminal, QrTextJson as QrText, TransitionEventJson as TransitionEvent, ShutdownEventJson as PaymentShutdownEvent, RefundDeclinedJson as RefundDeclined } from '../../../src/terminals/response-schemas.js';
export type { PaymentListJson as PaymentPage, RefundListJson as RefundList, TerminalShutdownEventJson as TerminalShutdownEvent } from '../../../src/terminals/till-schemas.js';
export type { ErrorCode } from '../../../src/shared/http/error-catalogue.js';

/** Body of `POST /v1/payments` (createPayment). */
export type CreatePaymentInput = z.input<typeof createPaymentBody>;
/** Body of `POST /v1/payments/{id}/refunds` (refundPayment): no amount refunds everything left. */
export type RefundInput = z.input<typeof refundBody>;
/** Body of `POST /v1/payments/{id}/cancel` (cancelPayment). */
export type CancelInput = z.input<typeof cancelBody>;
/** A query's input as the client takes it: what the server coerces from text (`z.coerce`) is a number here. */
export type QueryInput<I> = { [K in keyof I]?: unknown extends I[K] ? number : I[K] };
/** One page's query of `GET /v1/payments`, cursor included. */
export type ListPaymentsQuery = QueryInput<z.input<typeof listPaymentsQuery>>;
/** Filters of `GET /v1/payments` (listPayments), without the cursor the client follows itself. */
export type ListPaymentsFilters = Omit<ListPaymentsQuery, 'starting_after'>;
/** The long-poll of `GET /v1/payments/{id}`: `version` to wait past, `seconds` to wait at most (the query's `wait`). */
export type WaitQuery = Omit<QueryInput<z.input<typeof getPaymentQuery>>, 'wait'> & { seconds?: number };
/** Per-request QR image overrides of the terminal's display profile. */
export type QrOverrides = Partial<z.output<typeof profileOverridesSchema>>;
/** The JSON error body every /v1 error answers with. */
export type ErrorBody = ErrorJson;
/** The `data:` of an event of `GET /v1/events`. */
export type TerminalEvent = z.output<typeof terminalEventData>;
/** The SSE `event:` names of `GET /v1/events`, besides `shutdown`. */
export type TerminalEventType = (typeof TERMINAL_EVENT_TYPES)[number];
