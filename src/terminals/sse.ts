import { setMaxListeners } from 'node:events';
import type { Request, Response } from 'express';
import type { PaymentEvents } from '../payments/events.js';
import type { PaymentRepository } from '../payments/repository.js';
import { isFinal } from '../payments/state-machine.js';
import type { Payment } from '../payments/types.js';
import type { PresentPayment } from './presenter.js';
import type { Port } from '../storage/port.js';
import type { Logger } from '../shared/logger.js';
import type { ShutdownEventJson, TransitionEventJson } from './response-schemas.js';

/**
 * Keeps track of open long-polls and event streams so that shutdown can end them cleanly
 * (long-polls answer with the current state, streams get a final `shutdown` event).
 */
export function createSseRegistry(options: { heartbeatMs: number; journalPollMs?: number }) {
  const shutdown = new AbortController();
  // Every open long-poll and stream listens to this one signal: many at once is normal.
  setMaxListeners(0, shutdown.signal);
  let open = 0;
  return {
    heartbeatMs: options.heartbeatMs,
    /** How often a terminal's stream reads the journal without being woken (refund requests and failures wake nobody). */
    journalPollMs: options.journalPollMs ?? 1_000,
    /**
     * Runs `work` with a signal that fires when the request goes away or the daemon shuts down,
     * and takes its listeners off both when `work` settles. Not `AbortSignal.any()`: on Node 20
     * every signal it builds stays registered with the daemon-long shutdown signal (a WeakRef and
     * its slot, about 70 bytes a long-poll, never released).
     */
    async whileOpen<T>(requestSignal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
      const either = new AbortController();
      const abort = (): void => either.abort();
      if (requestSignal.aborted || shutdown.signal.aborted) either.abort();
      else {
        requestSignal.addEventListener('abort', abort, { once: true });
        shutdown.signal.addEventListener('abort', abort, { once: true });
      }
      try {
        return await work(either.signal);
      } finally {
        requestSignal.removeEventListener('abort', abort);
        shutdown.signal.removeEventListener('abort', abort);
      }
    },
    get shuttingDown(): AbortSignal {
      return shutdown.signal;
    },
    opened(): void {
      open += 1;
    },
    closed(): void {
      open -= 1;
    },
    openStreams(): number {
      return open;
    },
    /** Ends every long-poll and stream. */
    closeAll(): void {
      shutdown.abort();
    },
  };
}

export type SseRegistry = ReturnType<typeof createSseRegistry>;

/**
 * Writes one event; false when the socket's buffer is full (wait for 'drain' before more).
 * @example if (!writeEvent(res, 'state', 3, payload)) await once(res, 'drain')
 */
export function writeEvent(res: Response, event: string, id: number | null, data: unknown): boolean {
  return res.write(`${id === null ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Answers 200 with the headers of an event stream (no caching, no proxy buffering) and the
 * client's reconnection delay.
 * @example openEventStream(res); writeEvent(res, 'state', 1, payment)
 */
export function openEventStream(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write('retry: 3000\n\n');
}

/**
 * Streams a payment's state changes as Server-Sent Events. Each event is `event: state`
 * with `id:` the payment version; a client reconnecting with `Last-Event-ID` first gets the
 * changes it missed from the journal, then live ones. After a final state the stream stays
 * open with heartbeats until the client leaves, so EventSource does not reconnect in a loop.
 * Reads are awaited one after the other (events keep their order); a read that fails ends the
 * stream (logged), and the client resumes with `Last-Event-ID`.
 * @example await streamPaymentEvents(req, res, payment, { payments: store.repos.payments, events, sse, present, logger })
 */
export async function streamPaymentEvents(
  req: Request,
  res: Response,
  payment: Payment,
  deps: { payments: Pick<Port<PaymentRepository>, 'get' | 'stateChangesAfter'>; events: PaymentEvents; sse: SseRegistry; present: PresentPayment; logger?: Logger | undefined },
): Promise<void> {
  const lastId = Number.parseInt(req.get('last-event-id') ?? '0', 10);
  const resumeFrom = Number.isFinite(lastId) && lastId >= 0 ? lastId : 0;
  openEventStream(res);

  let sentVersion = resumeFrom;
  let ended = false;
  const show = async (p: Payment): Promise<void> => {
    if (ended || p.version <= sentVersion) return;
    const json = await deps.present(p);
    if (ended || p.version <= sentVersion) return;
    sentVersion = p.version;
    writeEvent(res, 'state', p.version, json);
  };
  const fail = (error: unknown): void => {
    if (ended) return;
    deps.logger?.warn('payment event stream could not read the payment; ended (the client resumes with Last-Event-ID)', { paymentId: payment.id, error: error instanceof Error ? error.message : String(error) });
    ended = true;
    res.end();
  };
  // Live changes are queued from now on, behind the missed ones and the current state.
  let queue: Promise<void> = (async () => {
    // Missed changes first (the journal holds each state change with its version)...
    const missed = await deps.payments.stateChangesAfter(payment.id, resumeFrom);
    for (const e of missed) {
      if (e.version === null || e.version >= payment.version) continue;
      writeEvent(res, 'transition', e.version, { paymentId: payment.id, from: e.fromState, to: e.toState, version: e.version, at: new Date(e.at).toISOString() } satisfies TransitionEventJson);
      sentVersion = e.version;
    }
    // ...then the current state, then live changes.
    await show((await deps.payments.get(payment.id)) ?? payment);
  })().catch(fail);
  const send = (p: Payment): void => {
    queue = queue.then(() => show(p)).catch(fail);
  };
  const unsubscribe = deps.events.subscribe(payment.id, send);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.sse.heartbeatMs);
  deps.sse.opened();

  const stop = () => {
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    deps.sse.shuttingDown.removeEventListener('abort', onShutdown);
    deps.sse.closed();
  };
  const onShutdown = () => {
    queue = queue
      .then(async () => {
        if (ended) return;
        const current = await deps.payments.get(payment.id);
        writeEvent(res, 'shutdown', null, { reason: 'tenderbridge is restarting; reconnect with Last-Event-ID', final: current ? isFinal(current.state) : false } satisfies ShutdownEventJson);
        res.end();
      })
      .catch(fail);
  };
  res.on('close', stop);
  if (deps.sse.shuttingDown.aborted) onShutdown();
  else deps.sse.shuttingDown.addEventListener('abort', onShutdown, { once: true });
  await queue;
}
