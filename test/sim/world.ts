import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { fdatasyncSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as FakeTimers from '@sinonjs/fake-timers';
import { inject } from 'light-my-request';
import pg from 'pg';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import type { Config } from '../../src/shared/config/load.js';
import type { PostgresDatabaseConfig } from '../../src/shared/config/database-schema.js';
import { createLogger } from '../../src/shared/logger.js';
import { openPostgresBackend } from '../../src/storage/postgres/backend.js';
import { watchPostgres, type PostgresWatch } from './postgres-watch.js';
import { createRandom, type Random } from './random.js';
import { SimTransport } from './transport.js';

/** 2026-03-02 09:00 local-ish: the simulation's epoch (any fixed time will do; a fixed one keeps runs alike). */
export const EPOCH = Date.UTC(2026, 2, 2, 9, 0, 0);

/** An HTTP answer as an actor sees it; `status: 0` is a connection that broke (the daemon crashed mid-request). */
export interface Answer {
  status: number;
  body: Record<string, unknown> | null;
  text: string;
}

export interface WorldOptions {
  seed: number;
  config: (dbPath: string, postgresUrl?: string) => Config;
  /**
   * PostgreSQL mode: a fresh database on a server, shared by `daemons` daemons (default 2).
   * Requests, callbacks and scans reach a daemon picked at random among those alive, as behind a
   * load balancer; a crash kills one daemon, which restarts a little later. Not replayable step
   * for step: the server answers on its own time (see {@link createWorld}).
   */
  postgres?: { url: string; daemons?: number };
}

/** One daemon process of the run: its current incarnation, and whether it is alive. */
interface Life {
  slot: number;
  incarnation: number;
  dead: boolean;
}

interface Slot {
  n: number;
  life: Life;
  daemon: Daemon | null;
}

type Timer = { type: string };

/** PostgreSQL mode: timers due within this many virtual ms of each other run together, their queries racing in the server. */
const CONCURRENT_MS = 50;

/**
 * One simulated run: a virtual clock that every timer of the daemon and of the simulation runs
 * on, a seeded random source, the daemon (the real one, on a real SQLite file) reached over
 * in-process HTTP, its outbound calls carried by {@link SimTransport}, and crashes that throw a
 * daemon's whole process state away and start a new one on the same file.
 *
 * Determinism: no sockets, no wall-clock timers, no threads; every timer, immediate and date is
 * the fake clock's, and every chance the seed's. The same seed replays the same run.
 *
 * PostgreSQL mode (`postgres`): several daemons share one database on a real server, so their
 * queries travel over real sockets. Virtual time then moves only when no query is in flight and
 * the server has been quiet a moment (see {@link watchPostgres}), so a query never sees its
 * daemon's timers run ahead of it. The seed still draws every fault, sale and crash, but the
 * order in which the server answers two daemons is its own: such a run is not replayable.
 * A crash kills one daemon: its timers go, its connections are cut without a word (the server
 * rolls back what they had open and frees their locks), and it restarts 2 s later.
 */
export function createWorld(options: WorldOptions) {
  const rng: Random = createRandom(options.seed);
  const dir = mkdtempSync(join(shmOrTmp(), 'tb-sim-'));
  const dbPath = join(dir, 'sim.db');
  const config = options.config(dbPath, options.postgres?.url);
  const fleet = options.postgres ? Math.max(1, options.postgres.daemons ?? 2) : 0;
  // Captured before the fake clock takes them: the PostgreSQL mode waits on the real event loop.
  const real = { setImmediate: globalThis.setImmediate, setTimeout: globalThis.setTimeout };
  const clock = FakeTimers.install({
    now: EPOCH,
    toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date'],
    loopLimit: 1_000_000,
  });
  // AbortSignal.timeout runs on a platform timer the fake clock does not reach (openid-client
  // times its token requests with it): put it on the virtual clock for the run.
  const realTimeout = AbortSignal.timeout.bind(AbortSignal);
  AbortSignal.timeout = (ms: number): AbortSignal => {
    const controller = new AbortController();
    clock.setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    return controller.signal;
  };
  // A promise of the daemon's that nothing awaits and that fails is a defect of the run, not a reason to stop the process.
  const onUnhandled = (reason: unknown): void => {
    problems.push(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);
  };
  process.on('unhandledRejection', onUnhandled);
  /** Timers the simulation owns: they survive a crash (the daemon's do not). */
  const own = new Set<number>();
  const traceLines: string[] = [];
  const problems: string[] = [];
  let incarnation = 0;
  let crashes = 0;
  /** Windows of virtual time when the store's uplink is down. */
  const outages: Array<[number, number]> = [];
  const slots: Slot[] = Array.from({ length: Math.max(1, fleet) }, (_, n) => ({ n: n + 1, life: { slot: n + 1, incarnation: 0, dead: true }, daemon: null }));
  /** Requests in flight into the daemons: a crash breaks those of the daemon it kills (the actor sees status 0). */
  const inflight = new Map<(answer: Answer) => void, { what: string; life: Life }>();
  const logger = createLogger({ level: 'error', silent: true });

  // PostgreSQL mode: which daemon each piece of work belongs to (its requests, timers, sockets),
  // so that a crash takes that daemon's and nothing else.
  const running = new AsyncLocalStorage<Life>();
  const timerOwner = new Map<number, Life>();
  let watch: PostgresWatch | null = null;
  let admin: pg.Pool | null = null;
  const restoreGlobals: Array<() => void> = [];
  if (fleet > 0) {
    watch = watchPostgres(() => running.getStore() ?? null, (owner) => (owner as Life | null)?.dead === true, real);
    admin = new pg.Pool({ connectionString: options.postgres?.url, max: 2 });
    for (const name of ['setTimeout', 'setInterval', 'setImmediate'] as const) {
      const fake = globalThis[name] as (fn: (...a: unknown[]) => void, ...rest: unknown[]) => unknown;
      (globalThis as Record<string, unknown>)[name] = (fn: (...a: unknown[]) => void, ...rest: unknown[]) => {
        const owner = running.getStore();
        const handle = fake(owner ? AsyncResource.bind(fn) : fn, ...rest);
        if (owner) timerOwner.set(Number(handle), owner);
        return handle;
      };
      restoreGlobals.push(() => ((globalThis as Record<string, unknown>)[name] = fake));
    }
  }

  const trace = (line: string): void => {
    traceLines.push(`${String(clock.now - EPOCH).padStart(7)} ms  ${line}`);
    if (traceLines.length > 4_000) traceLines.splice(0, 1_000);
  };
  const alive = (): Slot[] => slots.filter((s) => !s.life.dead && s.daemon !== null);
  const first = (): Daemon => {
    const d = (alive()[0] ?? slots[0])?.daemon;
    if (!d) throw new Error('no daemon has started');
    return d;
  };

  const world = {
    rng,
    clock,
    config,
    dbPath,
    problems,
    trace,
    traceLines,
    transport: null as unknown as SimTransport,
    now: (): number => clock.now,
    /** The store's uplink goes down from `at` for `ms` (virtual time from the start). */
    outage(at: number, ms: number): void {
      outages.push([EPOCH + at, EPOCH + at + ms]);
      world.after(at, () => trace(`uplink down for ${ms} ms`));
    },
    uplinkDown: (): boolean => outages.some(([from, to]) => clock.now >= from && clock.now < to),
    /** The incarnation of the daemon whose work is running now (its outbound call is dropped if it dies). */
    caller: (): Life => (fleet > 0 ? (running.getStore() ?? (slots[0] as Slot).life) : (slots[0] as Slot).life),
    /** Every daemon alive now, each with a tag naming it (`daemon 2`) for traces. */
    daemons: (): Array<{ daemon: Daemon; life: Life; run<T>(fn: () => T): T }> =>
      alive().map((s) => ({ daemon: s.daemon as Daemon, life: s.life, run: <T>(fn: () => T): T => (fleet > 0 ? running.run(s.life, fn) : fn()) })),
    get crashes(): number {
      return crashes;
    },
    /** Requests into the daemons still waiting for their answer. */
    pending: (): string[] => [...inflight.values()].map((v) => v.what),

    /**
     * Rows from the daemons' database, outside any daemon (SQL with `?` placeholders, valid on
     * SQLite and PostgreSQL alike).
     */
    async sql<T>(text: string, ...params: unknown[]): Promise<T[]> {
      if (!admin) return first().db.prepare(text).all(...params) as T[];
      let i = 0;
      const { rows } = await admin.query(text.replace(/\?/g, () => `$${++i}`), params);
      return rows as T[];
    },

    /** Runs `fn` after `ms` of virtual time; an error it throws is a problem of the run. */
    after(ms: number, fn: () => void | Promise<void>): void {
      // In a fleet the callback carries on the work of whoever scheduled it (an answer to a daemon's call is its own).
      const body = fleet > 0 ? AsyncResource.bind(fn) : fn;
      const handle = clock.setTimeout(() => {
        own.delete(Number(handle));
        try {
          const result = body();
          if (result instanceof Promise) result.catch((error: unknown) => problems.push(`simulation error: ${(error as Error).stack ?? String(error)}`));
        } catch (error) {
          problems.push(`simulation error: ${(error as Error).stack ?? String(error)}`);
        }
      }, ms);
      own.add(Number(handle));
    },

    /**
     * An HTTP request to a daemon, in process (in a fleet, one picked at random among those
     * alive). `giveUpAfterMs`: the caller stops waiting then (it sees status 0) while the daemon
     * carries on, as a client whose own timeout fired.
     */
    request(method: string, url: string, headers: Record<string, string>, body?: unknown, opts: { remoteAddress?: string; giveUpAfterMs?: number } = {}): Promise<Answer> {
      const remoteAddress = opts.remoteAddress ?? '127.0.0.1';
      const up = alive();
      const slot = fleet > 1 ? (up.length > 0 ? rng.pick('route', up) : null) : up[0];
      if (!slot) return Promise.resolve({ status: 0, body: null, text: 'connection refused: no daemon is up' });
      const target = slot.daemon as Daemon;
      const life = slot.life;
      return new Promise<Answer>((resolve) => {
        let settled = false;
        const settle = (a: Answer) => {
          if (settled) return;
          settled = true;
          inflight.delete(settle);
          resolve(a);
        };
        const who = fleet > 1 ? `daemon ${life.slot} #${life.incarnation}` : `daemon #${life.incarnation}`;
        inflight.set(settle, { what: `${method} ${url.slice(0, 60)} since ${clock.now - EPOCH} ms (${who})`, life });
        if (opts.giveUpAfterMs !== undefined) world.after(opts.giveUpAfterMs, () => settle({ status: 0, body: null, text: 'the caller gave up waiting' }));
        const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        const send = () => inject(target.app as never, { method: method as 'GET', url, headers: { ...(payload !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers }, ...(payload === undefined ? {} : { payload }), remoteAddress });
        (fleet > 0 ? running.run(life, send) : send())
          .then((res) => {
            let json: Record<string, unknown> | null = null;
            try {
              json = res.payload ? (JSON.parse(res.payload) as Record<string, unknown>) : null;
            } catch {
              json = null;
            }
            settle({ status: res.statusCode, body: json, text: res.payload });
          })
          .catch((error: unknown) => settle({ status: 0, body: null, text: String(error) }));
      });
    },

    /** Lets virtual time pass, running every timer due and what their promises lead to. */
    async advance(ms: number): Promise<void> {
      if (!watch) return void (await clock.tickAsync(ms));
      // Timer by timer, each once the database has answered everything asked before it.
      const until = clock.now + ms;
      for (;;) {
        const quiet = await watch.quiet();
        if (!quiet.ok) throw new Error(`PostgreSQL never went quiet at ${clock.now - EPOCH} ms, still waiting for: ${quiet.what}`);
        let next = Infinity;
        for (const timer of (clock.timers as unknown as Map<number, { callAt: number }>).values()) next = Math.min(next, timer.callAt);
        if (next > until) break;
        // Every timer due in the next few virtual ms fires before the wait for quiet, so that work
        // happening at nearly the same moment (a callback and its duplicate on two daemons) races
        // for real in the server.
        await clock.tickAsync(Math.max(0, Math.min(next + CONCURRENT_MS, until) - clock.now));
      }
      await clock.tickAsync(until - clock.now);
    },

    /** Starts the first daemon (in a fleet, each in turn: the first creates the schema). */
    async boot(): Promise<void> {
      if (fleet === 0) return void start();
      for (const slot of slots) await startInFleet(slot);
    },

    /**
     * A daemon's process dies: its timers and pending work are gone, its database connection
     * closes without committing the open batch, requests in flight break. A new daemon starts on
     * the same file and resumes what was owed. In a fleet, one daemon at random dies and starts
     * again 2 s later; the others carry on.
     */
    crash(): void {
      if (fleet > 0) {
        const up = alive();
        if (up.length === 0) return;
        const slot = rng.pick('crash.which', up);
        crashes += 1;
        kill(slot.life);
        trace(`CRASH #${crashes}: daemon ${slot.n}`);
        world.after(2_000, () => startInFleet(slot));
        return;
      }
      crashes += 1;
      trace(`CRASH #${crashes}`);
      for (const [id, timer] of clock.timers as unknown as Map<number, Timer>) {
        if (own.has(id)) continue;
        clearTimer(id, timer);
      }
      for (const [settle] of [...inflight]) settle({ status: 0, body: null, text: 'connection reset: the daemon crashed' });
      first().db.close();
      start();
    },

    /** Stops the clock's faking and removes the files (in a fleet: the daemons' connections too). */
    async dispose(): Promise<void> {
      process.off('unhandledRejection', onUnhandled);
      for (const slot of alive()) kill(slot.life);
      await admin?.end();
      // Whatever connection is left (one a daemon opened outside its own work) goes with the run.
      watch?.cut(() => true);
      for (const restore of restoreGlobals) restore();
      watch?.restore();
      clock.uninstall();
      AbortSignal.timeout = realTimeout;
      if (fleet === 0 && slots[0]?.daemon?.db.open) slots[0].daemon.db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  function clearTimer(id: number, timer: Timer): void {
    if (timer.type === 'Immediate') clock.clearImmediate(id as never);
    else if (timer.type === 'Interval') clock.clearInterval(id as never);
    else clock.clearTimeout(id as never);
  }

  function start(): void {
    incarnation += 1;
    const slot = slots[0] as Slot;
    slot.life.dead = true;
    slot.life = { slot: 1, incarnation, dead: false };
    slot.daemon = createDaemon(config, { logger, clock: () => clock.now, dispatcher: world.transport, warmQrImages: false, processMetrics: false, newId: () => rng.uuid('daemon.id'), walFlush: { walSync: simulatedFlush, backgroundCheckpoints: false }, reportThread: false, integrity: 'before-serving' });
    // What start() does besides listening and scheduling: owed deliveries resume now.
    slot.daemon.core.resume();
    slot.daemon.deliverer.kick();
    trace(`daemon #${incarnation} started`);
  }

  /**
   * The WAL flush off the event loop, on virtual time: the data is flushed at once, and the flush
   * ends 0-3 virtual ms later (a daemon's timer: a crash meanwhile means it never ended), so
   * writes arriving during a flush wait in the next batch as they do on a real disk.
   */
  function simulatedFlush(fd: number, done: (error: Error | null) => void): void {
    fdatasyncSync(fd);
    setTimeout(() => done(null), rng.int('disk.flushMs', 0, 3));
  }

  /** Kills a fleet daemon as its process would die: nothing it had in hand goes on. */
  function kill(life: Life): void {
    life.dead = true;
    for (const [id, timer] of clock.timers as unknown as Map<number, Timer>) if (timerOwner.get(id) === life) clearTimer(id, timer);
    for (const [settle, v] of [...inflight]) if (v.life === life) settle({ status: 0, body: null, text: 'connection reset: the daemon crashed' });
    watch?.cut((owner) => owner === life);
  }

  /** Starts (or restarts) a fleet daemon on the shared database. */
  async function startInFleet(slot: Slot): Promise<void> {
    const life: Life = { slot: slot.n, incarnation: slot.life.incarnation + 1, dead: false };
    slot.life = life;
    slot.daemon = null;
    const daemon = await running.run(life, async () => {
      const backend = await openPostgresBackend({ database: config.database as PostgresDatabaseConfig, merchants: config.merchants, stores: config.stores, terminals: config.terminals, logger, clock: () => clock.now, appVersion: 'simulation' });
      const d = createDaemon(config, { backend, logger, clock: () => clock.now, dispatcher: world.transport, warmQrImages: false, processMetrics: false, newId: () => rng.uuid('daemon.id') });
      d.deliverer.kick();
      return d;
    });
    if (life.dead) return;
    slot.daemon = daemon;
    trace(`daemon ${slot.n} #${life.incarnation} started`);
  }

  world.transport = new SimTransport({ rng, after: world.after, caller: world.caller, uplinkDown: world.uplinkDown, trace });
  return world;
}

export type World = ReturnType<typeof createWorld>;

function shmOrTmp(): string {
  // The database is real, but fsyncs to a RAM disk cost nothing: a crash here is a process death, not a power cut.
  try {
    mkdirSync('/dev/shm/tenderbridge-sim', { recursive: true });
    return '/dev/shm/tenderbridge-sim';
  } catch {
    return tmpdir();
  }
}
