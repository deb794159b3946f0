import * as http from 'node:http';

/** One Server-Sent Event as a client sees it. */
export interface SseEvent<T = Record<string, unknown>> {
  id: string | null;
  event: string;
  data: T;
}

/** An open event stream: what arrived so far, a way to wait for more, and a hang-up. */
export interface SseStream<T = Record<string, unknown>> {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body when the answer was not a stream (an error). */
  text(): string;
  events: SseEvent<T>[];
  /** Resolves with every event so far once `done` says so (checked on each event); rejects after `timeoutMs`. */
  until(done: (events: SseEvent<T>[]) => boolean, timeoutMs?: number): Promise<SseEvent<T>[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/**
 * Opens an SSE stream with node:http (real HTTP, as a till's EventSource would) and resolves
 * once the answer's headers arrived. Comments (heartbeats) are skipped.
 * @example const s = await openSse(`${h.url}/v1/events`, h.auth()); await s.until((ev) => ev.length >= 2);
 */
export function openSse<T = Record<string, unknown>>(url: string, headers: Record<string, string>): Promise<SseStream<T>> {
  return new Promise((resolve, reject) => {
    const events: SseEvent<T>[] = [];
    const waiters = new Set<() => void>();
    let raw = '';
    let buffer = '';
    let endedResolve: () => void = () => undefined;
    const ended = new Promise<void>((r) => (endedResolve = r));
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let idx: number;
        while ((idx = buffer.indexOf('\n\n')) !== -1) {
          const lines = buffer.slice(0, idx).split('\n');
          buffer = buffer.slice(idx + 2);
          const data = lines.find((l) => l.startsWith('data: '));
          if (!data) continue;
          events.push({ id: lines.find((l) => l.startsWith('id: '))?.slice(4) ?? null, event: lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message', data: JSON.parse(data.slice(6)) as T });
        }
        for (const wake of [...waiters]) wake();
      });
      res.on('end', endedResolve);
      res.on('close', endedResolve);
      res.on('error', () => endedResolve());
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => raw,
        events,
        ended,
        close: () => req.destroy(),
        until(done, timeoutMs = 10_000) {
          return new Promise((ok, fail) => {
            const check = () => {
              if (!done(events)) return;
              waiters.delete(check);
              clearTimeout(timer);
              ok([...events]);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`the stream did not deliver in ${timeoutMs} ms; got ${events.map((e) => `${e.id}:${e.event}`).join(', ') || 'nothing'}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
      });
    });
    req.on('error', (e: Error) => (e.message.includes('aborted') || e.message.includes('socket hang up') ? endedResolve() : reject(e)));
  });
}
