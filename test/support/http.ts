import { request } from 'node:http';

/** A tiny JSON client for tests: real HTTP, no mocks. */
export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * Sends one request and parses a JSON answer (body null when it is not JSON).
 * `localAddress` sends it from another loopback address (any 127.x.y.z on Linux), so a test
 * can play a second client machine; fetch cannot choose its source address, node:http can.
 */
export async function call<T = Record<string, unknown>>(
  url: string,
  options: { method?: string; headers?: Record<string, string>; json?: unknown; body?: string; localAddress?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  const { status, headers: answerHeaders, text } =
    options.localAddress === undefined ? await viaFetch(url, method, headers, body) : await viaNodeHttp(url, method, headers, body, options.localAddress);
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status, headers: answerHeaders, body: parsed as T, text };
}

type RawAnswer = { status: number; headers: Headers; text: string };

async function viaFetch(url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<RawAnswer> {
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function viaNodeHttp(url: string, method: string, headers: Record<string, string>, body: string | undefined, localAddress: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) answerHeaders.append(name, one);
        }
        resolve({ status: res.statusCode ?? 0, headers: answerHeaders, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export type PaymentJson = {
  id: string;
  state: string;
  version: number;
  final: boolean;
  paid: boolean;
  amountMinor: number;
  merchantReference: string;
  refundedMinor: number;
  attention: string | null;
  partpay: { orderId: string; orderNumber: string | null } | null;
  qr: { imageUrl: string; textUrl: string; text: string | null } | null;
  error: { code: string; message: string } | null;
};

export type ErrorJson = { error: { code: string; message: string; details?: Record<string, unknown> } };
