import type { Request, Response } from 'express';
import type { PaymentEvents } from '../payments/events.js';
import type { Payment } from '../payments/types.js';
import type { SseRegistry } from '../terminals/sse.js';
import { currentSession } from './operator-auth.js';
import type { SessionStore } from './sessions.js';

/** What the console hears of each committed payment change: enough to know what to refresh. */
export function consoleChange(p: Payment) {
  return { id: p.id, state: p.state, version: p.version, attention: p.attention, terminalId: p.terminalId, storeId: p.storeId };
}

/**
 * The console's live feed, as Server-Sent Events: `event: payment` for every committed change
 * of any payment (the same in-process notifications the terminals' streams use), heartbeats,
 * and `event: signed-out` (then the end) once the session it was opened with ends, whether
 * signed out or expired. The stream itself never keeps a session alive. Shutdown ends it with
 * `event: shutdown`, and the console falls back to polling until it can reconnect.
 */
export function streamConsoleEvents(req: Request, res: Response, deps: { events: PaymentEvents; sse: SseRegistry; sessions: SessionStore }): void {
  const signedIn = currentSession(res);
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write('retry: 3000\n\n');
  const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  write('hello', { operator: res.locals['operator'] as string });

  let ended = false;
  /** A session stream stops the moment its session has ended. */
  const stillSignedIn = (): boolean => {
    if (!signedIn || deps.sessions.peek(signedIn.id)) return true;
    write('signed-out', { message: 'your console session has ended: sign in again' });
    end();
    return false;
  };
  const unsubscribe = deps.events.subscribe('*', (p) => {
    if (stillSignedIn()) write('payment', consoleChange(p));
  });
  const heartbeat = setInterval(() => {
    if (stillSignedIn()) res.write(': heartbeat\n\n');
  }, Math.min(deps.sse.heartbeatMs, 5_000));
  deps.sse.opened();
  const onShutdown = () => {
    write('shutdown', { reason: 'tenderbridge is restarting' });
    end();
  };
  function stop(): void {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    deps.sse.shuttingDown.removeEventListener('abort', onShutdown);
    deps.sse.closed();
  }
  function end(): void {
    stop();
    res.end();
  }
  req.on('close', stop);
  res.on('close', stop);
  if (deps.sse.shuttingDown.aborted) onShutdown();
  else deps.sse.shuttingDown.addEventListener('abort', onShutdown, { once: true });
}
