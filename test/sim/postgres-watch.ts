import type { Socket } from 'node:net';
import pg from 'pg';

/** How long the server may go on answering before the run is declared stuck (real time). */
const STUCK_MS = 20_000;
/** After queries, the server is given this long (real time) for NOTIFYs to reach the other daemons. */
const SETTLE_MS = 2;

type Owner = object | null;
type Callback = (...args: unknown[]) => unknown;

export interface PostgresWatch {
  /**
   * Resolves once no query is in flight and none started for a moment: the database has
   * answered everything asked of it, and what it told the listeners has arrived. `ok: false`
   * (with what is still waiting) if that never happens within 20 s.
   */
  quiet(): Promise<{ ok: true } | { ok: false; what: string }>;
  /**
   * Cuts every connection of the owners `which` picks, as the death of their process does: the
   * sockets close, the server rolls back what they had open and frees their locks, and the
   * owners' code never hears of it (its queries stay unanswered for ever).
   */
  cut(which: (owner: Owner) => boolean): void;
  /** Puts `pg` back as it was. */
  restore(): void;
}

/**
 * Watches every `pg` connection of the process (the simulation's PostgreSQL mode): which
 * queries are in flight and whose connections they are (`owner()` at the time of connecting),
 * so that the virtual clock moves only while the database is quiet, and a simulated crash cuts
 * exactly one daemon's connections. A dead owner's code that still runs (a continuation queued
 * before it died) reaches no server: its queries and connections are never answered. Instrumentation of the real driver over real sockets:
 * nothing is answered in the server's place.
 * @example const watch = watchPostgres(() => als.getStore() ?? null, (life) => life?.dead === true, { setImmediate, setTimeout }); await watch.quiet();
 */
export function watchPostgres(owner: () => Owner, isDead: (owner: Owner) => boolean, real: { setImmediate: typeof setImmediate; setTimeout: typeof setTimeout }): PostgresWatch {
  const proto = pg.Client.prototype as unknown as { query: Callback; connect: Callback };
  const original = { query: proto.query, connect: proto.connect };
  const owners = new WeakMap<object, Owner>();
  const clients = new Set<pg.Client>();
  /** Queries (and connection attempts) in flight, each with the client it runs on. */
  const pending = new Map<number, { client: pg.Client; what: string }>();
  let next = 0;
  let started = 0;

  const track = (client: pg.Client, what: string, args: unknown[], call: Callback): unknown => {
    // What a dead process's code still runs (a continuation already queued) reaches no server.
    if (isDead(owners.get(client) ?? null)) return typeof args[args.length - 1] === 'function' ? undefined : new Promise(() => undefined);
    const id = ++next;
    started += 1;
    pending.set(id, { client, what });
    const done = () => void pending.delete(id);
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, ...result: unknown[]) {
        done();
        return (last as Callback).apply(this, result);
      };
      return call.apply(client, args);
    }
    const out = call.apply(client, args) as { then?: Callback; once?: Callback } | undefined;
    if (out && typeof out.then === 'function') out.then(done, done);
    else if (out && typeof out.once === 'function') {
      out.once('end', done);
      out.once('error', done);
    } else done();
    return out;
  };

  proto.connect = function (this: pg.Client, ...args: unknown[]) {
    owners.set(this, owner());
    clients.add(this);
    this.once('end', () => clients.delete(this));
    return track(this, 'connect', args, original.connect);
  };
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? 'query');
    return track(this, text.replace(/\s+/g, ' ').slice(0, 80), args, original.query);
  };

  const turn = () => new Promise<void>((resolve) => real.setImmediate(resolve));
  const pause = (ms: number) => new Promise<void>((resolve) => real.setTimeout(resolve, ms));

  return {
    async quiet() {
      const giveUp = performance.now() + STUCK_MS;
      for (;;) {
        let calm = 0;
        while (calm < 3) {
          await turn();
          calm = pending.size === 0 ? calm + 1 : 0;
          if (performance.now() > giveUp) return { ok: false, what: [...pending.values()].map((p) => p.what).join('; ') };
        }
        if (started === 0) return { ok: true };
        started = 0;
        // Something was asked: give the server's NOTIFYs a moment to reach the other daemons.
        await pause(SETTLE_MS);
        if (pending.size === 0 && started === 0) return { ok: true };
      }
    },
    cut(which) {
      for (const client of [...clients]) {
        if (!which(owners.get(client) ?? null)) continue;
        clients.delete(client);
        for (const [id, p] of pending) if (p.client === client) pending.delete(id);
        const stream = (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
        if (!stream) continue;
        // The driver hears nothing more (a dead process hears nothing); the server sees the socket close.
        for (const event of ['data', 'error', 'close', 'end', 'connect', 'ready']) stream.removeAllListeners(event);
        stream.on('error', () => undefined);
        stream.destroy();
      }
    },
    restore() {
      proto.query = original.query;
      proto.connect = original.connect;
    },
  };
}
