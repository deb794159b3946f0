import type { Request, Response } from 'express';
import type { PaymentEvents } from '../payments/events.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { Port } from '../storage/port.js';
import type { PaymentEventRow } from '../payments/types.js';
import type { Terminal } from '../registry/registry.js';
import type { GroupCommit } from '../shared/db/group-commit.js';
import type { Logger } from '../shared/logger.js';
import { ValidationError } from '../shared/errors.js';
import { parseOr400 } from '../shared/http/validate.js';
import { presentRefund, type PresentPayment } from './presenter.js';
import { openEventStream, writeEvent, type SseRegistry } from './sse.js';
import { lastEventIdHeader, terminalEventsQuery, type terminalEventData, type TerminalShutdownEventJson } from './till-schemas.js';
import type { z } from 'zod';

/** Journal entries read (and written to the socket) at a time: what a stream holds in memory at most. */
const BATCH = 100;

/** The reads a terminal's stream makes, through the storage port. */
export type StreamReads = Pick<Port<PaymentRepository>, 'get' | 'getRefund' | 'lastSeq' | 'terminalChanges'>;

export interface TerminalStreamDeps {
  payments: StreamReads;
  events: PaymentEvents;
  sse: SseRegistry;
  present: PresentPayment;
  /** The database's group commit: the stream reads only committed writes (a batch may still roll back). */
  durable?: Pick<GroupCommit, 'pending' | 'settled'> | undefined;
  /** Where a stream that could not read says so. */
  logger?: Logger | undefined;
}

/** One event as `GET /v1/events` sends it (and a webhook POSTs it). */
export type TerminalEvent = z.input<typeof terminalEventData>;

/**
 * Where a terminal's stream resumes: `Last-Event-ID` (what EventSource sends on reconnecting),
 * else `?last_event_id=`, else null (live only).
 * @throws ValidationError when it is not a journal sequence number, or one not yet written.
 */
export async function resumePoint(req: Request, payments: Pick<Port<PaymentRepository>, 'lastSeq'>): Promise<number | null> {
  const query = parseOr400(terminalEventsQuery, req.query, 'query');
  const header = parseOr400(lastEventIdHeader, req.get('last-event-id'), 'header', 'Last-Event-ID');
  const from = header ?? query.last_event_id ?? null;
  const last = await payments.lastSeq();
  if (from !== null && from > last) {
    throw new ValidationError(`${header === undefined ? 'query parameter last_event_id' : 'header Last-Event-ID'}: ${from} is after the newest event (${last}); was the database restored? reconnect without it`, { details: { lastEventId: last } });
  }
  return from;
}

/**
 * The event a journal entry of the terminal's payments shows, with the payment (and refund) as
 * they are now: what the stream writes as `data:`, and what a webhook POSTs.
 * @example await terminalEventOf(row, { payments: store.repos.payments, present }) // { seq: 42, type: 'payment.state_changed', from: 'awaiting_customer', to: 'approved', payment: {…}, … }
 */
export async function terminalEventOf(row: PaymentEventRow, deps: { payments: Pick<Port<PaymentRepository>, 'get' | 'getRefund'>; present: PresentPayment }): Promise<TerminalEvent> {
  const paymentId = row.paymentId as string;
  const payment = await deps.payments.get(paymentId);
  const base = { seq: row.seq, at: new Date(row.at).toISOString(), paymentId, merchantReference: payment?.merchantReference ?? '', payment: payment ? await deps.present(payment) : null };
  if (row.kind === 'state_changed') return { ...base, type: 'payment.state_changed', from: row.fromState, to: row.toState ?? undefined, version: row.version ?? undefined };
  const refund = await deps.payments.getRefund(String(row.detail?.['refundId'] ?? ''));
  const type = row.kind === 'refund_requested' ? 'refund.requested' : row.kind === 'refund_settled' ? 'refund.succeeded' : 'refund.failed';
  return { ...base, type, refund: refund ? presentRefund(refund) : null };
}

/**
 * Streams every change of every payment of one terminal as Server-Sent Events, from the
 * journal: each event's `id:` is its journal sequence number, so a client reconnecting with
 * `Last-Event-ID` gets what it missed, then live changes, in one order. The journal is read
 * in batches and the next batch only once the socket has drained, so a slow reader costs one
 * batch of memory, never a growing buffer. State changes are told at once (the in-process
 * notification wakes the stream); refund requests and failures, which change no payment
 * version, within `sse.journalPollMs`.
 * @example streamTerminalEvents(res, terminal, resumePoint(req, payments), deps)
 */
export function streamTerminalEvents(res: Response, terminal: Terminal, resumeFrom: number | null, deps: TerminalStreamDeps): void {
  // Null until the first read: "from now on" is what is committed when the stream starts.
  let cursor: number | null = resumeFrom;
  let closed = false;
  let running = false;
  let again = false;
  openEventStream(res);

  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });

  // Writes of an open batch are visible on this connection before they are durable: wait for their commit.
  const committed = async (): Promise<void> => {
    while (deps.durable?.pending && !closed) await deps.durable.settled().catch(() => undefined);
  };
  /**
   * The event of `row`, held until what it shows is durable (its reads are awaited, and a batch
   * may open meanwhile); read again when that batch rolled back. Null once the stream closed.
   */
  const durableEvent = async (row: PaymentEventRow): Promise<TerminalEvent | null> => {
    for (;;) {
      await committed();
      if (closed) return null;
      const event = await terminalEventOf(row, deps);
      if (!deps.durable?.pending) return event;
      if (await deps.durable.settled().then(() => true, () => false)) return event;
    }
  };

  const pump = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        let rows: PaymentEventRow[];
        do {
          await committed();
          if (closed) return;
          // Up to the newest entry now, so that the cursor passes every entry read, this terminal's or not:
          // an idle terminal's stream never scans the same entries of the others twice.
          const upto = await deps.payments.lastSeq();
          cursor ??= upto;
          rows = await deps.payments.terminalChanges(terminal.id, cursor, upto, BATCH);
          for (const row of rows) {
            // (A wait for the socket may have let a new batch open: the payment shown must be committed too.)
            const event = await durableEvent(row);
            if (event === null || closed) return;
            cursor = row.seq;
            if (!writeEvent(res, event.type, row.seq, event) && !closed) await drained();
          }
          if (rows.length < BATCH) cursor = upto;
        } while (rows.length === BATCH && !closed);
      } while (again && !closed);
    } catch (error) {
      // The journal could not be read (storage failing): end the stream; the client resumes from its last id.
      if (!closed) {
        deps.logger?.warn('terminal event stream could not read the journal; ended (the client resumes with Last-Event-ID)', { terminalId: terminal.id, lastEventId: cursor, error: error instanceof Error ? error.message : String(error) });
        res.end();
      }
    } finally {
      running = false;
    }
  };
  const wake = () => void pump();

  const unsubscribe = deps.events.subscribe('*', (p) => {
    if (p.terminalId === terminal.id) wake();
  });
  const poll = setInterval(wake, deps.sse.journalPollMs);
  // A heartbeat only into an empty buffer: a reader that is behind needs no more bytes.
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(': heartbeat\n\n');
  }, deps.sse.heartbeatMs);
  deps.sse.opened();
  wake();

  const stop = () => {
    closed = true;
    clearInterval(poll);
    clearInterval(heartbeat);
    unsubscribe();
    deps.sse.shuttingDown.removeEventListener('abort', onShutdown);
    deps.sse.closed();
  };
  const onShutdown = () => {
    closed = true;
    writeEvent(res, 'shutdown', null, { reason: 'tenderbridge is restarting; reconnect with Last-Event-ID', lastEventId: cursor } satisfies TerminalShutdownEventJson);
    res.end();
  };
  res.on('close', stop);
  if (deps.sse.shuttingDown.aborted) onShutdown();
  else deps.sse.shuttingDown.addEventListener('abort', onShutdown, { once: true });
}
