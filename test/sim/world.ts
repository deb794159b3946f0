import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as FakeTimers from '@sinonjs/fake-timers';
import { inject } from 'light-my-request';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import type { Config } from '../../src/shared/config/load.js';
import { createLogger } from '../../src/shared/logger.js';
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
  config: (dbPath: string) => Config;
}

type Timer = { type: string };

/**
 * One simulated run: a virtual clock that every timer of the daemon and of the simulation runs
 * on, a seeded random source, the daemon (the real one, on a real SQLite file) reached over
 * in-process HTTP, its outbound calls carried by {@link SimTransport}, and crashes that throw a
 * daemon's whole process state away and start a new one on the same file.
 *
 * Determinism: no sockets, no wall-clock timers, no threads; every timer, immediate and date is
 * the fake clock's, and every chance the seed's. The same seed replays the same run.
 */
export function createWorld(options: WorldOptions) {
  const rng: Random = createRandom(options.seed);
  const dir = mkdtempSync(join(shmOrTmp(), 'tb-sim-'));
  const dbPath = join(dir, 'sim.db');
  const config = options.config(dbPath);
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
  let daemon: Daemon;
  /** Requests in flight into the daemon: a crash breaks them (the actor sees status 0). */
  const inflight = new Map<(answer: Answer) => void, string>();
  const logger = createLogger({ level: 'error', silent: true });

  const trace = (line: string): void => {
    traceLines.push(`${String(clock.now - EPOCH).padStart(7)} ms  ${line}`);
    if (traceLines.length > 4_000) traceLines.splice(0, 1_000);
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
    incarnation: (): number => incarnation,
    get daemon(): Daemon {
      return daemon;
    },
    get crashes(): number {
      return crashes;
    },
    /** Requests into the daemon still waiting for their answer. */
    pending: (): string[] => [...inflight.values()],

    /** Runs `fn` after `ms` of virtual time; an error it throws is a problem of the run. */
    after(ms: number, fn: () => void | Promise<void>): void {
      const handle = clock.setTimeout(() => {
        own.delete(Number(handle));
        try {
          const result = fn();
          if (result instanceof Promise) result.catch((error: unknown) => problems.push(`simulation error: ${(error as Error).stack ?? String(error)}`));
        } catch (error) {
          problems.push(`simulation error: ${(error as Error).stack ?? String(error)}`);
        }
      }, ms);
      own.add(Number(handle));
    },

    /**
     * An HTTP request to the daemon, in process. `giveUpAfterMs`: the caller stops waiting then
     * (it sees status 0) while the daemon carries on, as a client whose own timeout fired.
     */
    request(method: string, url: string, headers: Record<string, string>, body?: unknown, opts: { remoteAddress?: string; giveUpAfterMs?: number } = {}): Promise<Answer> {
      const remoteAddress = opts.remoteAddress ?? '127.0.0.1';
      return new Promise<Answer>((resolve) => {
        let settled = false;
        const settle = (a: Answer) => {
          if (settled) return;
          settled = true;
          inflight.delete(settle);
          resolve(a);
        };
        inflight.set(settle, `${method} ${url.slice(0, 60)} since ${clock.now - EPOCH} ms (daemon #${incarnation})`);
        if (opts.giveUpAfterMs !== undefined) world.after(opts.giveUpAfterMs, () => settle({ status: 0, body: null, text: 'the caller gave up waiting' }));
        const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        inject(daemon.app as never, { method: method as 'GET', url, headers: { ...(payload !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers }, ...(payload === undefined ? {} : { payload }), remoteAddress })
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
      await clock.tickAsync(ms);
    },

    /** Starts the first daemon. */
    boot(): void {
      start();
    },

    /**
     * The daemon's process dies: its timers and pending work are gone, its database connection
     * closes without committing the open batch, requests in flight break. A new daemon starts on
     * the same file and resumes what was owed.
     */
    crash(): void {
      crashes += 1;
      trace(`CRASH #${crashes}`);
      for (const [id, timer] of clock.timers as unknown as Map<number, Timer>) {
        if (own.has(id)) continue;
        if (timer.type === 'Immediate') clock.clearImmediate(id as never);
        else if (timer.type === 'Interval') clock.clearInterval(id as never);
        else clock.clearTimeout(id as never);
      }
      for (const settle of [...inflight.keys()]) settle({ status: 0, body: null, text: 'connection reset: the daemon crashed' });
      daemon.db.close();
      start();
    },

    /** Stops the clock's faking and removes the files. */
    dispose(): void {
      process.off('unhandledRejection', onUnhandled);
      clock.uninstall();
      AbortSignal.timeout = realTimeout;
      if (daemon.db.open) daemon.db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  function start(): void {
    incarnation += 1;
    daemon = createDaemon(config, { logger, clock: () => clock.now, dispatcher: world.transport, warmQrImages: false, processMetrics: false, newId: () => rng.uuid('daemon.id') });
    // What start() does besides listening and scheduling: owed deliveries resume now.
    daemon.core.resume();
    daemon.deliverer.kick();
    trace(`daemon #${incarnation} started`);
  }

  world.transport = new SimTransport({ rng, after: world.after, incarnation: () => incarnation, uplinkDown: world.uplinkDown, trace });
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
