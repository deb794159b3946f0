import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../shared/logger.js';
import type { PgPool } from '../../shared/db/postgres/pool.js';

/** The one channel the daemons of a deployment talk on. */
export const CHANNEL = 'tenderbridge';

/** What one daemon tells the others: a payment changed (to `version`), or a scan arrived for (or a pay ended on) a QR code. */
export type ClusterMessage = { kind: 'payment'; id: string; version: number } | { kind: 'scan'; tranId: string; outcome: 'scanned' | 'cancelled' };

/**
 * The daemons sharing one PostgreSQL database, told of each other's changes (LISTEN/NOTIFY).
 * A message is sent after the commit it reports, so a daemon that hears it reads committed rows.
 * NOTIFY is not a queue: messages sent while a daemon's listening connection is down are lost,
 * so after every reconnect `onResync` listeners re-read what they wait on.
 */
export interface ClusterBus {
  /** Tells the other daemons (not this one). */
  publish(message: ClusterMessage): void;
  subscribe(fn: (message: ClusterMessage) => void): () => void;
  /** Called after the listening connection came back: messages may have been missed meanwhile. */
  onResync(fn: () => void): () => void;
  /** Resolves once this daemon listens (first connection). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterBusOptions {
  /** The listening connection's settings: the pool's own (a LISTEN holds a connection of its own, outside the pool). */
  connectionString: string;
  logger: Logger;
  /** First wait before reconnecting; doubles up to 10 s. */
  reconnectMs?: number;
}

/**
 * The cluster bus over PostgreSQL: one dedicated connection LISTENs (reconnecting with backoff),
 * NOTIFY goes through the pool. Each message carries this daemon's id, so it ignores its own.
 * @example
 * const bus = postgresBus(pool, { connectionString: config.database.url, logger });
 * await bus.ready();
 * bus.subscribe((m) => { if (m.kind === 'payment') ... });
 */
export function postgresBus(pool: PgPool, options: ClusterBusOptions): ClusterBus {
  const self = randomUUID();
  const listeners = new Set<(message: ClusterMessage) => void>();
  const resyncs = new Set<() => void>();
  let client: pg.Client | null = null;
  let closed = false;
  let connectedOnce = false;
  let wait = options.reconnectMs ?? 250;
  let markReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));

  const deliver = (raw: string | undefined): void => {
    let parsed: { from?: string; message?: ClusterMessage };
    try {
      parsed = JSON.parse(raw ?? '') as typeof parsed;
    } catch {
      options.logger.warn('cluster message not understood', { payload: String(raw).slice(0, 200) });
      return;
    }
    if (parsed.from === self || !parsed.message) return;
    for (const fn of listeners) {
      try {
        fn(parsed.message);
      } catch (error) {
        options.logger.error('cluster message listener failed', { error: error instanceof Error ? error.message : String(error) });
      }
    }
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const next = new pg.Client({ connectionString: options.connectionString, application_name: 'tenderbridge-listen' });
    next.on('notification', (n) => deliver(n.payload));
    const lost = (why: string) => {
      if (client !== next) return;
      client = null;
      next.removeAllListeners('notification');
      void next.end().catch(() => undefined);
      if (closed) return;
      options.logger.warn('cluster listening connection lost; reconnecting', { reason: why, inMs: wait });
      setTimeout(() => void connect(), wait).unref();
      wait = Math.min(wait * 2, 10_000);
    };
    next.on('error', (error) => lost(error.message));
    next.on('end', () => lost('ended'));
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      client = next;
      lost(error instanceof Error ? error.message : String(error));
      return;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    wait = options.reconnectMs ?? 250;
    if (connectedOnce) {
      options.logger.info('cluster listening connection back; resyncing');
      for (const fn of resyncs) fn();
    }
    connectedOnce = true;
    markReady();
  };
  void connect();

  return {
    publish(message) {
      pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ from: self, message })]).catch((error: unknown) => {
        // Lost: the others learn of it by their own reads (a long-poll's timeout, a resync).
        options.logger.warn('cluster message not sent', { kind: message.kind, error: error instanceof Error ? error.message : String(error) });
      });
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    onResync(fn) {
      resyncs.add(fn);
      return () => resyncs.delete(fn);
    },
    ready: () => readyPromise,
    async close() {
      closed = true;
      const last = client;
      client = null;
      if (last) await last.end().catch(() => undefined);
    },
  };
}
