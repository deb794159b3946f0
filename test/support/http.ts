/** A tiny JSON client for tests: real HTTP, no mocks. */
export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = Record<string, unknown>>(
  url: string,
  options: { method?: string; headers?: Record<string, string>; json?: unknown; body?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const res = await fetch(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

export type PaymentJson = {
  id: string;
  state: string;
  version: number;
  final: boolean;
  paid: boolean;
  amountMinor: number;
  refundedMinor: number;
  attention: string | null;
  partpay: { orderId: string; orderNumber: string | null } | null;
  qr: { imageUrl: string; textUrl: string; text: string | null } | null;
  error: { code: string; message: string } | null;
};

export type ErrorJson = { error: { code: string; message: string; details?: Record<string, unknown> } };
