import { Agent, request } from 'node:http';

/** One HTTP answer, body read whole. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A lean keep-alive HTTP client for the flow loops. node:http with one agent costs the load
 * generator less CPU than fetch, and on a 2-core machine every cycle the generator spends is
 * taken from the daemon under test.
 */
export function createHttpClient(baseUrl: string) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });

  function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const all: Record<string, string | number> = { ...headers };
      if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
      const req = request({ host: url.hostname, port: url.port, method, path, headers: all, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      // Nothing in a flow legitimately takes this long (long-polls ask for 10 s): fail, never hang.
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      req.end(body);
    });
  }

  return {
    send,
    json: <T>(answer: HttpAnswer): T => JSON.parse(answer.body.toString('utf8')) as T,
    close: () => agent.destroy(),
  };
}

export type HttpClient = ReturnType<typeof createHttpClient>;
