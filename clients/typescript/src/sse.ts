import { isTenderbridgeError } from './errors.js';
import { sleep, type Call, type Transport } from './transport.js';

/** One Server-Sent Event as read off the wire. */
export interface SseMessage {
  event: string;
  /** The `id:` of the event, or null when it had none (a `shutdown`). */
  id: string | null;
  data: string;
}

/**
 * Reads the events of an event stream body (the text/event-stream format: `event:`, `id:`,
 * `data:` and `retry:` lines, comments, a blank line ends an event). `onRetry` gets the
 * server's reconnection delay.
 * @example for await (const m of readEvents(res.body, () => {})) console.log(m.event, m.data)
 */
export async function* readEvents(body: ReadableStream<Uint8Array>, onRetry: (ms: number) => void): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let id: string | null = null;
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer.startsWith('\r\n', end) ? end + 2 : end + 1);
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', id, data: data.join('\n') };
          event = '';
          id = null;
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id') id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) onRetry(Number(text));
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Where a stream resumes and how it ends. */
export interface StreamOptions {
  /** Resume after this event id (sent as `Last-Event-ID`); later reconnects send the last id received. */
  lastEventId?: string | null;
  /** Stops the stream (the loop ends without an error). */
  signal?: AbortSignal;
}

/**
 * Follows an event stream for as long as the caller reads it: after a dropped connection or a
 * `shutdown` event it reconnects (after the server's `retry:` delay) with `Last-Event-ID`, so no
 * event is missed or repeated. Errors that a retry cannot mend (a bad key, an unknown payment,
 * an id the server never issued) are thrown.
 * @example for await (const m of followEvents(transport, { operation: 'streamTerminalEvents' }, {})) handle(m)
 */
export async function* followEvents(transport: Transport, call: Call, options: StreamOptions): AsyncGenerator<SseMessage> {
  const stop = new AbortController();
  const outer = options.signal;
  const onAbort = () => stop.abort(outer?.reason);
  if (outer?.aborted) return;
  outer?.addEventListener('abort', onAbort, { once: true });
  let lastEventId = options.lastEventId ?? null;
  let reconnectMs = 3000;
  try {
    while (!stop.signal.aborted) {
      try {
        const headers = { Accept: 'text/event-stream', ...(lastEventId === null ? {} : { 'Last-Event-ID': lastEventId }) };
        const res = await transport.send({ ...call, headers, signal: stop.signal });
        if (!res.body) throw new Error('the event stream has no body');
        for await (const message of readEvents(res.body, (ms) => (reconnectMs = ms))) {
          if (message.id !== null) lastEventId = message.id;
          yield message;
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        if (isTenderbridgeError(err) && !err.retryable) throw err;
      }
      await sleep(reconnectMs, stop.signal).catch(() => undefined);
    }
  } finally {
    outer?.removeEventListener('abort', onAbort);
    // A consumer that breaks out of its loop closes the connection.
    stop.abort();
  }
}
