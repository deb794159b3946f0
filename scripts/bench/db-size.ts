import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { writeScheduledBackup } from '../../src/jobs/backup.js';
import { purgeExpiredData } from '../../src/jobs/purge.js';
import { PAYMENTS_BY_STATE_SQL } from '../../src/ops/metrics.js';
import { createOutboxRepository } from '../../src/outbox/repository.js';
import { createPaymentRepository } from '../../src/payments/repository.js';
import { endOfDayReport } from '../../src/reports/end-of-day.js';
import { startReportThread } from '../../src/reports/report-thread.js';
import { startCheckpointer } from '../../src/shared/db/checkpointer.js';
import { openDatabase, type Db } from '../../src/shared/db/open.js';
import { fillDatabase } from './fill-db.js';
import { createHttpClient } from './http-client.js';
import type { Progress } from './progress.js';
import { BENCH, startStack, type Stack } from './setup.js';
import { latencies, monoMs, round } from './stats.js';

const DAY = 86_400_000;
const OPERATOR = { name: 'bench', password: 'bench-operator-secret' };
const TERMINALS = Array.from({ length: 20 }, (_, k) => `TERM${String(k + 1).padStart(4, '0')}`);

/** `1m`, `250k`, `10000` -> a number of payments. */
export function parsePayments(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`--db-size wants sizes such as 1m,10m or 250k, not "${text}"`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm']);
}

/** CPU and wall time of a synchronous call (a job's batch runs on the event loop: its CPU is the loop's time). */
function timed<T>(fn: () => T): { value: T; cpuMs: number; wallMs: number } {
  const c0 = process.cpuUsage();
  const t0 = monoMs();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { value, cpuMs: (c.user + c.system) / 1000, wallMs: monoMs() - t0 };
}

/**
 * The end-of-day report as the daemon reads it, on its thread: the event loop's active time while
 * each of `reps` reports is read (what it takes from every other request), and the report's wall time.
 */
async function reportOnThread(db: Db, period: { from: number; to: number }, reps: number) {
  const reports = startReportThread(db);
  const loop: number[] = [];
  const wall: number[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      const u0 = performance.eventLoopUtilization();
      const t0 = monoMs();
      await reports.report(period);
      wall.push(monoMs() - t0);
      loop.push(performance.eventLoopUtilization(u0).active);
    }
  } finally {
    await reports.close();
  }
  const l = latencies(loop);
  const w = latencies(wall);
  return { loop: { cpuMsMax: l.max, cpuMsP50: l.p50 }, wallMs: { p50: w.p50, max: w.max } };
}

/**
 * The nightly backup job as the daemon runs it (the copy and its check on a thread): its wall
 * time, the event loop's active time over the whole job (counted against the 10 ms of a job's
 * batch as if it were one), and the event loop's longest wait meanwhile, which also counts the
 * times the system ran something else, as the thread's copy, instead of the event loop.
 */
async function backupAsTheDaemonRuns(path: string, dir: string) {
  // A coarse resolution: at 1 ms its own timer would be most of the event loop's time measured.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const u0 = performance.eventLoopUtilization();
  const t0 = monoMs();
  const backup = await writeScheduledBackup(path, { dir, keep: 1 }, Date.now());
  const wallMs = monoMs() - t0;
  const eventLoopMs = performance.eventLoopUtilization(u0).active;
  // A stretch that ended the job is seen by the timer that runs after it.
  await new Promise((resolve) => setTimeout(resolve, 20));
  delay.disable();
  rmSync(dir, { recursive: true, force: true });
  return { bytes: backup.bytes, wallMs, eventLoopMs, longestWaitMs: delay.max / 1e6 };
}

/** The worst of `reps` runs of a synchronous job query, in CPU ms (first run included: a cold page cache is real). */
function jobCost(reps: number, fn: () => unknown): { cpuMsMax: number; cpuMsP50: number } {
  const runs = Array.from({ length: reps }, () => timed(fn).cpuMs);
  const l = latencies(runs);
  return { cpuMsMax: l.max, cpuMsP50: l.p50 };
}

/**
 * The terminal API and the console side by side on a fresh database (a day's 1,000 payments) and on the big one:
 * one request to each in turn, so both see the same moment of this VM.
 */
async function apiSideBySide(empty: Stack, big: Stack, samples: number) {
  const clients = [createHttpClient(empty.daemon.url), createHttpClient(big.daemon.url)];
  const terminal = { authorization: `Bearer ${BENCH.terminals[0].key}` };
  const operator = { authorization: `Basic ${Buffer.from(`${OPERATOR.name}:${OPERATOR.password}`).toString('base64')}` };
  const ops: Record<string, Array<[number[], number[]]>> = {};
  const times: Record<string, [number[], number[]]> = {};
  const record = async (name: string, side: 0 | 1, send: () => Promise<{ status: number; body: Buffer }>, expect: number) => {
    const t0 = monoMs();
    const res = await send();
    const ms = monoMs() - t0;
    if (res.status !== expect) throw new Error(`${name} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    (times[name] ??= [[], []])[side].push(ms);
    return res;
  };
  try {
    for (let i = 0; i < samples; i++) {
      for (const side of (i % 2 === 0 ? [0, 1] : [1, 0]) as Array<0 | 1>) {
        const http = clients[side] as ReturnType<typeof createHttpClient>;
        const body = JSON.stringify({ amountMinor: 1000 + i, currency: 'NZD', merchantReference: `SIZE-${i}` });
        const created = await record('POST /v1/payments', side, () => http.send('POST', '/v1/payments', { ...terminal, 'content-type': 'application/json', 'idempotency-key': `size-${process.pid}-${side}-${i}` }, body), 201);
        const id = (http.json<{ id: string }>(created as never)).id;
        await record('GET /v1/payments/:id', side, () => http.send('GET', `/v1/payments/${id}`, terminal), 200);
        await record('GET /v1/payments (newest page)', side, () => http.send('GET', '/v1/payments?limit=50', terminal), 200);
        await record('console: payments list', side, () => http.send('GET', '/console/api/payments?limit=50', operator), 200);
        await record('console: overview', side, () => http.send('GET', '/console/api/overview', operator), 200);
        await record('console: end-of-day report', side, () => http.send('GET', '/console/api/report', operator), 200);
      }
    }
  } finally {
    for (const c of clients) c.close();
  }
  void ops;
  return Object.fromEntries(
    Object.entries(times).map(([name, [a, b]]) => {
      const la = latencies(a);
      const lb = latencies(b);
      return [name, { freshP50Ms: la.p50, bigP50Ms: lb.p50, ratioP50: lb.p50 / la.p50, freshP90Ms: la.p90, bigP90Ms: lb.p90, samples: la.n }];
    }),
  );
}

/**
 * The purge over a long run, days compressed: each day a store's payments are written and the
 * purge runs with `retentionDays`, for three retention periods. Once past the first period the
 * file stops growing (SQLite reuses the pages the purge frees) and the WAL stays at its
 * checkpoint size.
 */
export async function purgeLongRun(dir: string, o: { perDay: number; retentionDays: number; periods: number }, progress: Progress) {
  const path = join(dir, 'long-run.db');
  const start = Date.now() - o.retentionDays * o.periods * DAY;
  const days: Array<{ day: number; fileMb: number; walMb: number; freePages: number; payments: number; purged: number }> = [];
  const size = (f: string) => {
    try {
      return statSync(f).size / 1e6;
    } catch {
      return 0;
    }
  };
  for (let d = 1; d <= o.retentionDays * o.periods; d++) {
    const now = start + d * DAY;
    // Every payment of a past day is settled: the expire job would have closed any left open.
    fillDatabase(path, { payments: o.perDay, days: 1, now, terminals: TERMINALS, storeId: 'STORE001', otherDays: o.retentionDays, idempotencyKeyHours: 24, openTail: 0 });
    const db = openDatabase(path);
    // What the daemon's purge job does at this day's end.
    const purged = await purgeExpiredData(db, now, { paymentDays: o.retentionDays, otherDays: o.retentionDays, idempotencyKeyHours: 24 });
    const payments = db.prepare('SELECT count(*) FROM payments').pluck().get() as number;
    const freePages = db.pragma('freelist_count', { simple: true }) as number;
    const walMb = size(`${path}-wal`);
    db.close();
    days.push({ day: d, fileMb: size(path), walMb, freePages, payments, purged: purged.payments });
    if (d % o.retentionDays === 0) progress.step(`purge long run: day ${d}, ${payments} payments kept, file ${round(size(path), 1)} MB, WAL ${round(walMb, 1)} MB`);
  }
  rmSync(path, { force: true });
  const at = (d: number) => days[d - 1] as (typeof days)[number];
  const end = o.retentionDays * o.periods;
  return {
    ...o,
    fileMbAfterFirstPeriod: at(o.retentionDays).fileMb,
    fileMbAtSecondPeriod: at(2 * o.retentionDays).fileMb,
    fileMbAtEnd: at(end).fileMb,
    /** Growth over the last period, relative to the file's size at its start: about 0 when the purge bounds the file. */
    growthLastPeriod: (at(end).fileMb - at(end - o.retentionDays).fileMb) / at(end - o.retentionDays).fileMb,
    walMbMax: Math.max(...days.map((x) => x.walMb)),
    days,
  };
}

/**
 * `--db-size=1m,10m`: for each size, a database filled with a year of payments (see
 * fill-db.ts), then (1) the terminal API and console on it against a fresh one, (2) the
 * jobs' batches on it in process, in CPU ms (the event-loop time they cost the daemon),
 * (3) bytes per payment on disk, (4) the purge of its oldest week, batch by batch.
 */
export async function dbSizePhase(dir: string, sizes: number[], s: { samples: number }, progress: Progress) {
  const out: Record<string, unknown> = {};
  for (const n of sizes) {
    const path = join(dir, `fill-${n}.db`);
    const now = Date.now();
    const t0 = monoMs();
    const filled = fillDatabase(path, { payments: n, days: 365, now, terminals: TERMINALS, storeId: 'STORE001', otherDays: 90, idempotencyKeyHours: 24, onProgress: (done) => done % 200_000 === 0 && progress.step(`db-size ${n}: ${done} payments written`) });
    const fillSeconds = (monoMs() - t0) / 1000;
    const bytes = statSync(path).size;
    progress.step(`db-size ${n}: filled in ${round(fillSeconds, 0)} s, ${round(bytes / 1e6, 0)} MB, ${round(bytes / n, 0)} bytes per payment`);

    // The "empty" side holds a day's 1,000 payments, so that its lists return full pages too.
    const fresh = join(dir, 'fresh.db');
    fillDatabase(fresh, { payments: 1000, days: 1, now, terminals: TERMINALS, storeId: 'STORE001', otherDays: 90, idempotencyKeyHours: 24 });
    const extra = { ops: { operators: [OPERATOR] } };
    const [empty, big] = [await startStack({ decideMs: 50, qrDelivery: 'url', config: extra, dbPath: fresh }), await startStack({ decideMs: 50, qrDelivery: 'url', config: extra, dbPath: path, startTimeoutMs: 600_000 })];
    // Start-up on the big file: the integrity check and the migrations read it.
    const startupMs = { empty: empty.daemon.readyLogMs, big: big.daemon.readyLogMs };
    progress.step(`db-size ${n}: ready line after ${round(startupMs.empty, 0)} ms on an empty file, ${round(startupMs.big, 0)} ms on this one`);
    let api: Record<string, unknown>;
    try {
      api = await apiSideBySide(empty, big, s.samples);
    } finally {
      await empty.stop();
      await big.stop();
      for (const f of [fresh, `${fresh}-wal`, `${fresh}-shm`]) rmSync(f, { force: true });
    }
    progress.step(`db-size ${n}: terminal API p50 big/empty ${Object.entries(api).map(([k, v]) => `${k} ${round((v as { ratioP50: number }).ratioP50, 2)}`).join(', ')}`);

    const db = openDatabase(path);
    const payments = createPaymentRepository(db);
    const outbox = createOutboxRepository(db);
    const yesterday = { from: now - 2 * DAY, to: now - DAY };
    const jobs = {
      'expire: one batch (expiredOpen, 100)': jobCost(5, () => payments.expiredOpen(now, 100)),
      'reconcile: one batch (overdueOpen, 100)': jobCost(5, () => payments.overdueOpen(now - 60_000, now - 60_000, 100)),
      'deliver-outbox: one batch (due, 50)': jobCost(5, () => outbox.due(now, 50)),
      // The query alone, on this thread: what the daemon's event loop paid before the report thread.
      'report: a day (end of day), the query itself': jobCost(5, () => endOfDayReport(db, yesterday)),
      'overview counts': jobCost(5, () => payments.counts()),
      'metrics: payments by state': jobCost(5, () => db.prepare(PAYMENTS_BY_STATE_SQL).all()),
    };
    // The daemon reads it on its thread: its event loop pays the hand-over only, and that counts against the 10 ms.
    const onThread = await reportOnThread(db, yesterday, 5);
    const eventLoopJobs = { ...Object.fromEntries(Object.entries(jobs).filter(([k]) => !k.startsWith('report:'))), 'report: a day, on the report thread (event-loop ms)': onThread.loop };
    const backup = await backupAsTheDaemonRuns(path, join(dir, 'backups'));
    progress.step(`db-size ${n}: backup of ${round(backup.bytes / 1e6, 0)} MB in ${round(backup.wallMs / 1000, 1)} s on its thread, ${round(backup.eventLoopMs, 1)} ms of event loop, longest wait ${round(backup.longestWaitMs, 1)} ms`);
    // Nothing past the default retention (400 days) in a year: what a daily run costs when it has nothing to do.
    const idle = timed(() => purgeExpiredData(db, now, { paymentDays: 400, otherDays: 90, idempotencyKeyHours: 24 }));
    await idle.value;
    // The oldest week past a 358-day retention: batch by batch, the event-loop time each holds (the
    // wall time of its synchronous stretch), on a connection set up as the daemon's is: synchronous=NORMAL
    // (its group commit flushes the WAL off the event loop) and the WAL checkpointed on a thread.
    db.pragma('synchronous = NORMAL');
    const checkpointer = startCheckpointer(db);
    const batches: number[] = [];
    const w0 = monoMs();
    let resumed = w0;
    const week = await purgeExpiredData(db, now, { paymentDays: 358, otherDays: 90, idempotencyKeyHours: 24 }, {
      pause: async () => {
        batches.push(monoMs() - resumed);
        // As the daemon's purge pauses (src/storage/sqlite-backend.ts).
        await checkpointer.caughtUp();
        resumed = monoMs();
      },
    });
    const weekWallMs = monoMs() - w0;
    await checkpointer.close();
    const walAfter = (() => {
      try {
        return statSync(`${path}-wal`).size;
      } catch {
        return 0;
      }
    })();
    db.close();
    const perBatch = latencies(batches);
    out[String(n)] = {
      payments: n,
      generated: { ...filled, seconds: fillSeconds },
      fileBytes: bytes,
      bytesPerPayment: bytes / n,
      startupMs,
      api,
      jobs: eventLoopJobs,
      backup,
      reportQuery: { cpuMs: jobs['report: a day (end of day), the query itself'], onThreadWallMs: onThread.wallMs },
      purge: {
        nothingToDoCpuMs: idle.cpuMs,
        oldestWeek: { ...week, wallMs: weekWallMs, batchLoopMs: { n: perBatch.n, p50: perBatch.p50, p90: perBatch.p90, p99: perBatch.p99, max: perBatch.max } },
        walBytesAfter: walAfter,
      },
    };
    progress.step(`db-size ${n}: jobs ${Object.entries(eventLoopJobs).map(([k, v]) => `${k.split(':')[0]} ${round(v.cpuMsMax, 2)} ms`).join(', ')}; purge of a week ${week.payments} payments in ${week.batches} batches, p99 ${round(perBatch.p99, 2)} ms of event loop per batch`);
    rmSync(path, { force: true });
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
  }
  return out;
}
