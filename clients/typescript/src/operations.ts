/**
 * The /v1 operations the client calls, by the OpenAPI document's operationId, with the method
 * and path template the document gives them. The client builds every URL from this table, and
 * test/client/conformance.test.ts fails when it and docs/openapi.json disagree
 * (an operation missing, moved, or renamed on either side).
 */
export const OPERATIONS = {
  getTerminal: { method: 'GET', path: '/v1/terminal' },
  createPayment: { method: 'POST', path: '/v1/payments' },
  listPayments: { method: 'GET', path: '/v1/payments' },
  streamTerminalEvents: { method: 'GET', path: '/v1/events' },
  getPayment: { method: 'GET', path: '/v1/payments/{id}' },
  streamPaymentEvents: { method: 'GET', path: '/v1/payments/{id}/events' },
  getPaymentQr: { method: 'GET', path: '/v1/payments/{id}/qr' },
  getPaymentQrText: { method: 'GET', path: '/v1/payments/{id}/qr/text' },
  getElectrumQr: { method: 'GET', path: '/v1/qr-codes/{tranId}' },
  cancelPayment: { method: 'POST', path: '/v1/payments/{id}/cancel' },
  refundPayment: { method: 'POST', path: '/v1/payments/{id}/refunds' },
  listPaymentRefunds: { method: 'GET', path: '/v1/payments/{id}/refunds' },
  getRefund: { method: 'GET', path: '/v1/refunds/{id}' },
} as const satisfies Record<string, { method: 'GET' | 'POST'; path: string }>;

export type OperationId = keyof typeof OPERATIONS;

/** Operations of the document the client does not wrap, and why. */
export const NOT_WRAPPED: Readonly<Record<string, string>> = {
  getOpenApi: 'the document itself: read it with any HTTP client or openapi tooling',
};

/**
 * The path of `operation` with its `{name}` parameters filled in (URL-encoded).
 * @example pathOf('getPayment', { id: '6102cc0a-5d2e-4c59-9a37-1f0e8d2b7c41' }) // '/v1/payments/6102cc0a-…'
 */
export function pathOf(operation: OperationId, params: Readonly<Record<string, string>> = {}): string {
  return OPERATIONS[operation].path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === '') throw new TypeError(`${operation}: ${name} is required`);
    return encodeURIComponent(value);
  });
}
