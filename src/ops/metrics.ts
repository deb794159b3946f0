import client from 'prom-client';
import type { RequestHandler, Response } from 'express';
import type { Db } from '../shared/db/open.js';
import type { PartPayAttemptInfo } from '../partpay/request.js';
import type { TokenStatus } from '../partpay/token-manager.js';
import type { BuildInfo } from './build-info.js';
import { registerEventLoopDelay } from './event-loop-delay.js';

const STARTED = Symbol('timerStarted');
type TimedResponse = Response & { [STARTED]: bigint };

/**
 * Payments per provider and state from payment_counts, on either database: the counts are kept
 * in stripes (migration 8; SQLite uses one), so a count is the sum of its rows.
 */
export const PAYMENTS_BY_STATE_SQL = 'SELECT provider, state, CAST(sum(n) AS BIGINT) AS n FROM payment_counts GROUP BY provider, state HAVING sum(n) > 0 ORDER BY provider, state';

/** The stored state the gauges describe, read at scrape time from whichever database holds it. */
export interface StoredFigures {
  /** Payments per provider and state (kept by triggers: counting the table itself took seconds per scrape on a big database). */
  paymentsByState(): Promise<Array<{ provider: string; state: string; n: number }>>;
  attention(): Promise<number>;
  /** Depth of the outbox per state and the oldest pending item's creation. */
  outbox(): Promise<Array<{ state: string; n: number; oldest: number }>>;
}

/**
 * The gauges' figures from SQLite.
 * @example createMetrics({ stored: sqliteFigures(db), tokens, clock })
 */
export function sqliteFigures(db: Db): StoredFigures {
  const paymentsByState = db.prepare(PAYMENTS_BY_STATE_SQL);
  const outboxStats = db.prepare("SELECT state, count(*) AS n, min(created_at) AS oldest FROM outbox WHERE state IN ('pending', 'dead') GROUP BY state");
  const attention = db.prepare('SELECT count(*) AS n FROM payments WHERE attention IS NOT NULL');
  return {
    paymentsByState: async () => paymentsByState.all() as Array<{ provider: string; state: string; n: number }>,
    attention: async () => (attention.get() as { n: number }).n,
    outbox: async () => outboxStats.all() as Array<{ state: string; n: number; oldest: number }>,
  };
}

export interface MetricsSources {
  stored: StoredFigures;
  /** PartPay token state per merchant credential. */
  tokens: () => TokenStatus[];
  clock: () => number;
  /** Which tenderbridge this is: `tenderbridge_build_info{version,commit,node} 1`. */
  build?: BuildInfo;
  /** Also the process's own metrics (CPU, memory, event loop lag, GC), which set up process-wide observers: once per process (default true). */
  processMetrics?: boolean;
  /** The integrity check of a SQLite file run while serving (see `Backend.integrity`): `tenderbridge_db_integrity_ok`. */
  integrity?: () => { ok: boolean };
}

/**
 * The daemon's Prometheus metrics on their own registry (no global state, so tests can run
 * several daemons in one process). Counters and histograms are fed by the parts that see the
 * events; gauges that describe stored state are read from the database at scrape time.
 */
export function createMetrics(sources: MetricsSources) {
  const registry = new client.Registry();
  let stopSampling = (): void => undefined;
  if (sources.processMetrics !== false) {
    client.collectDefaultMetrics({ register: registry, prefix: 'tenderbridge_' });
    stopSampling = registerEventLoopDelay(registry);
  }

  if (sources.build) {
    const info = new client.Gauge({ name: 'tenderbridge_build_info', help: 'Which tenderbridge runs: always 1, with its version, commit and Node.js', labelNames: ['version', 'commit', 'node'], registers: [registry] });
    info.set({ version: sources.build.version, commit: sources.build.commit ?? 'unknown', node: sources.build.node }, 1);
  }
  const { stored, integrity } = sources;
  if (integrity) {
    new client.Gauge({
      name: 'tenderbridge_db_integrity_ok',
      help: "1 unless SQLite's integrity check, run while serving after a clean start, found the database file damaged (0: restore the latest backup)",
      registers: [registry],
      collect() {
        this.set(integrity().ok ? 1 : 0);
      },
    });
  }

  new client.Gauge({
    name: 'tenderbridge_payments',
    help: 'Payments stored, by provider and state',
    labelNames: ['provider', 'state'],
    registers: [registry],
    async collect() {
      const rows = await stored.paymentsByState();
      this.reset();
      for (const row of rows) this.set({ provider: row.provider, state: row.state }, row.n);
    },
  });
  new client.Gauge({
    name: 'tenderbridge_payments_needing_attention',
    help: 'Payments flagged for an operator (late approvals, unresolved upstream state)',
    registers: [registry],
    async collect() {
      this.set(await stored.attention());
    },
  });
  new client.Gauge({
    name: 'tenderbridge_outbox_depth',
    help: 'Owed deliveries not yet done, by state (pending, dead)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await stored.outbox();
      this.reset();
      this.set({ state: 'pending' }, 0);
      this.set({ state: 'dead' }, 0);
      for (const row of rows) this.set({ state: row.state }, row.n);
    },
  });
  new client.Gauge({
    name: 'tenderbridge_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest owed delivery still pending (0 when none)',
    registers: [registry],
    async collect() {
      const pending = (await stored.outbox()).find((r) => r.state === 'pending');
      this.set(pending ? Math.max(0, (sources.clock() - pending.oldest) / 1000) : 0);
    },
  });
  new client.Gauge({
    name: 'tenderbridge_partpay_token_refreshes',
    help: 'PartPay access tokens obtained, per merchant (cumulative)',
    labelNames: ['merchant'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of sources.tokens()) this.set({ merchant: t.merchantId }, t.refreshes);
    },
  });
  new client.Gauge({
    name: 'tenderbridge_partpay_token_failures',
    help: 'PartPay token requests that failed, per merchant (cumulative)',
    labelNames: ['merchant'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of sources.tokens()) this.set({ merchant: t.merchantId }, t.failures);
    },
  });

  const httpDuration = new client.Histogram({
    name: 'tenderbridge_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60],
    registers: [registry],
  });
  const dbFlush = new client.Histogram({
    name: 'tenderbridge_db_flush_duration_seconds',
    help: "Time to flush the SQLite WAL to disk (fdatasync), once per group of commits: every answer that reports a write waits for one",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5],
    registers: [registry],
  });
  const partpayDuration = new client.Histogram({
    name: 'tenderbridge_partpay_call_duration_seconds',
    help: 'PartPay Terminal API call latency per attempt',
    labelNames: ['operation', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const partpayErrors = new client.Counter({
    name: 'tenderbridge_partpay_call_errors_total',
    help: 'PartPay Terminal API attempts that failed, by operation and kind',
    labelNames: ['operation', 'outcome'],
    registers: [registry],
  });
  const clockSkew = new client.Gauge({
    name: 'tenderbridge_partpay_clock_skew_seconds',
    help: "Our clock minus PartPay's Date header at the last response (resolution 1 s)",
    registers: [registry],
  });
  const callbackLag = new client.Histogram({
    name: 'tenderbridge_callback_lag_seconds',
    help: 'Time from payment creation to the PartPay callback that settled it',
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const callbacks = new client.Counter({
    name: 'tenderbridge_partpay_callbacks_total',
    help: 'PartPay callbacks received, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const resolved = new client.Counter({
    name: 'tenderbridge_payments_resolved_total',
    help: 'Payments that reached a final state, by what settled them (callback, reconcile, terminal, expiry, ...)',
    labelNames: ['by', 'state'],
    registers: [registry],
  });

  return {
    registry,
    /**
     * Express middleware timing each request, labelled by its route pattern (not the raw path).
     * Per request: one clock read at the start, and at `finish` one more and an observation on
     * a labelled child cached per method, route and status.
     */
    httpTimer(): RequestHandler {
      const children = new Map<string, { observe(seconds: number): void }>();
      // One listener for every response (its `this`): a request allocates no closure for it.
      function observe(this: TimedResponse): void {
        const seconds = Number(process.hrtime.bigint() - this[STARTED]) / 1e9;
        const req = this.req;
        const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : req.baseUrl || 'unmatched';
        const key = `${req.method} ${this.statusCode} ${route}`;
        let child = children.get(key);
        if (child === undefined) {
          child = httpDuration.labels({ method: req.method, route, status: String(this.statusCode) });
          children.set(key, child);
        }
        child.observe(seconds);
      }
      return (_req, res, next) => {
        (res as TimedResponse)[STARTED] = process.hrtime.bigint();
        res.on('finish', observe);
        next();
      };
    },
    /** One flush of the WAL to disk took `seconds` (SQLite's group commit). */
    dbFlush(seconds: number): void {
      dbFlush.observe(seconds);
    },
    partpayAttempt(info: PartPayAttemptInfo): void {
      partpayDuration.observe({ operation: info.operation, outcome: info.outcome }, info.durationMs / 1000);
      if (info.outcome !== 'ok') partpayErrors.inc({ operation: info.operation, outcome: info.outcome });
      if (info.date) {
        const theirs = Date.parse(info.date);
        if (!Number.isNaN(theirs)) clockSkew.set((info.receivedAt - theirs) / 1000);
      }
    },
    callback(outcome: string, createdAt: number | null): void {
      callbacks.inc({ outcome });
      if (createdAt !== null && outcome === 'applied') callbackLag.observe(Math.max(0, (sources.clock() - createdAt) / 1000));
    },
    paymentResolved(by: string, state: string): void {
      resolved.inc({ by, state });
    },
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    /** Stops the event-loop delay sampling (at the daemon's stop). */
    stop(): void {
      stopSampling();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
