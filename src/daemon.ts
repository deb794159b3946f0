import { randomUUID } from 'node:crypto';
import express from 'express';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import type { Server } from 'node:http';
import { createApp } from './app.js';
import { startJobs, type Job } from './jobs/scheduler.js';
import { previousLocalDay } from './jobs/report.js';
import { writeReportFile } from './reports/end-of-day.js';
import { writeScheduledBackup } from './jobs/backup.js';
import { createDeliverer } from './outbox/deliverer.js';
import type { OutboxItem } from './outbox/repository.js';
import { partpayCallbackRoutes } from './partpay/callback-routes.js';
import { partpayClientFromConfig, qrImageFetchPolicy } from './partpay/from-config.js';
import { createTokenManager } from './partpay/token-manager.js';
import { createPaymentsCore } from './payments/core.js';
import { createPaymentQr } from './payments/payment-qr.js';
import { createPaymentService } from './payments/service.js';
import type { Payment } from './payments/types.js';
import { createQrCache, createQrImages, createQrPool, type QrPool } from './qr/index.js';
import { createOperatorActions } from './payments/operator.js';
import { webRoutes } from './web/routes.js';
import type { ElectrumDeps } from './electrum/context.js';
import { electrumErrorBody } from './electrum/errors.js';
import { electrumRoutes } from './electrum/routes.js';
import { livenessRoutes, readinessRoutes } from './ops/health-routes.js';
import { createReadiness } from './ops/readiness.js';
import { closeGracefully, listen } from './ops/listeners.js';
import { authFailureLimits } from './shared/http/auth-failure-limits.js';
import { allowedHostsFor, hostCheck } from './shared/http/host-check.js';
import { createMetrics } from './ops/metrics.js';
import { metricsRoutes } from './ops/metrics-routes.js';
import type { BuildInfo } from './ops/build-info.js';
import type { Config } from './shared/config/load.js';
import { providersFromConfig } from './providers-from-config.js';
import type { Repos, Store } from './storage/port.js';
import type { Db } from './shared/db/open.js';
import type { Backend } from './storage/backend.js';
import { openSqliteBackend, type SqliteBackend, type SqliteBackendOptions } from './storage/sqlite-backend.js';
import type { Logger } from './shared/logger.js';
import { terminalRoutes } from './terminals/routes.js';
import { createSseRegistry } from './terminals/sse.js';
import { presenterOf } from './terminals/presenter.js';
import { createWebhookDelivery } from './webhooks/deliver.js';
import { owingWebhooks, WEBHOOK_KIND } from './webhooks/owe.js';

export interface DaemonOptions {
  logger: Logger;
  clock?: () => number;
  /** Open this SQLite database instead of `config.database.path` (tests). */
  db?: Db;
  /**
   * The database to run on, opened by the caller (PostgreSQL: `openPostgresBackend`, which
   * connects asynchronously); the caller closes it after `stop()`. Default: the SQLite file
   * of `config.database`, opened here and closed by `stop()`.
   */
  backend?: Backend;
  /** Where every outbound call goes (PartPay, its token endpoint, partners); default: the network. The simulator passes an in-process one. */
  dispatcher?: Dispatcher;
  /** Render a new payment's QR image before the terminal asks for it, and start the QR worker at `start()` (default true). */
  warmQrImages?: boolean;
  /** Worker threads that decode and render QR images (default: a pool of its own); `stop()` closes it either way. */
  qrPool?: QrPool;
  /** Ids of payments, refunds and owed keys (default: random UUIDs); the simulator's are seeded. */
  newId?: () => string;
  /** Collect the process's own metrics (default true); off where many daemons share one process (the simulator). */
  processMetrics?: boolean;
  /** Which tenderbridge this is, shown on /healthz, /v1/terminal, the console and in metrics (default: unknown). */
  build?: BuildInfo;
  /**
   * Called synchronously right after each durable commit from `start()` on, with how many there
   * have been: a group-commit batch, or a write that committed by itself (see `watchCommits`).
   * The crash suite's hook (main.ts kills the process here); unset, nothing is counted.
   */
  onCommitted?: (count: number) => void;
  /**
   * Wraps the storage port the daemon reaches the payments, the outbox and Electrum through
   * (tests: a port whose answers arrive a turn later, as a networked database's would).
   */
  wrapStore?: (store: Store) => Store;
  /** On SQLite: how the WAL is flushed (tests slow it or fail it), who is told of a failed flush (default: logged, then thrown as a fatal error), and whether it is checkpointed on a thread of its own (default). */
  walFlush?: Pick<SqliteBackendOptions, 'walSync' | 'onSyncFailure' | 'backgroundCheckpoints'>;
  /** SQLite: read end-of-day reports on a thread of their own (default true; the simulation, on virtual time, says false). */
  reportThread?: boolean;
  /** SQLite: when the file is integrity-checked (see `SqliteBackendOptions.integrity`; the simulation, on virtual time, says before serving). */
  integrity?: SqliteBackendOptions['integrity'];
}

/**
 * Builds the whole daemon from a validated config: database (opened, checked, migrated),
 * registry, PartPay adapter, payments core, routes, outbox and jobs. Nothing listens and no
 * timer runs until `start()`; `stop()` undoes it all in the order systemd expects.
 */
export function createDaemon(config: Config, options: DaemonOptions) {
  const logger = options.logger;
  const clock = options.clock ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const build: BuildInfo = options.build ?? { version: 'unknown', commit: null, node: process.version };
  // The database: the backend given (PostgreSQL, opened by the caller: it connects asynchronously), or the embedded SQLite file.
  const opened = options.backend ? null : openSqliteBackend(config, { logger, clock, build, ...(options.db ? { db: options.db } : {}), ...(options.onCommitted ? { onCommitted: options.onCommitted } : {}), ...(options.reportThread === false ? { reportThread: false } : {}), ...(options.integrity ? { integrity: options.integrity } : {}), ...options.walFlush });
  const backend: Backend = options.backend ?? (opened as SqliteBackend).backend;
  const sqlite = opened?.sqlite ?? null;
  const onlySqlite = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`daemon.${what} exists only on SQLite; this daemon runs on ${backend.kind}`);
    return value;
  };
  const registry = backend.registry;
  const events = backend.events;
  const waiters = backend.waiters;
  const settled = () => backend.settled();
  const tokens = createTokenManager({
    tokenUrl: config.partpay.tokenUrl,
    audience: config.partpay.audience,
    timeoutMs: config.partpay.tokenTimeoutMs,
    refreshMarginSeconds: config.partpay.tokenRefreshMarginSeconds,
    logger: logger.child({ component: 'partpay-token' }),
    now: clock,
    ...(options.dispatcher ? { fetch: fetchThrough(options.dispatcher) } : {}),
  });
  const metrics = createMetrics({ stored: backend.figures, tokens: () => tokens.status(), clock, build, ...(options.processMetrics === false ? { processMetrics: false } : {}), ...(backend.integrity ? { integrity: backend.integrity.bind(backend) } : {}) });
  backend.observeFlushes?.((seconds) => metrics.dbFlush(seconds));
  const partpay = partpayClientFromConfig(config, tokens, logger.child({ component: 'partpay' }), { observe: (attempt) => metrics.partpayAttempt(attempt), beforeSend: settled, dispatcher: options.dispatcher });

  // The deliverer needs the core and the core needs to kick the deliverer: tie the knot late.
  let kick = (): void => undefined;
  const onOutbox = () => kick();
  // A final payment's QR stays cached until the byte-capped LRU drops it: under load the outcome
  // often arrives before the terminal's first QR fetch, and dropping it at once made every such
  // payment decode and render its image twice.
  const onFinal = (p: Payment, by: string): void => metrics.paymentResolved(by, p.state);

  // The payments core, the outbox and Electrum reach the database through the storage port.
  // Each state change and settled refund owes its webhooks in its own transaction; the deliverer is kicked after the commit.
  const ported = backend.storeWith((r: Repos) => owingWebhooks(r, { endpoints: config.webhooks.endpoints, clock, kick: () => kick() }));
  const store = options.wrapStore ? options.wrapStore(ported) : ported;
  const { providers, partpay: partpayProvider, partnerClient } = providersFromConfig(config, { partpay, registry, electrumRepos: store.repos.electrum, waiters, beforeSend: settled, logger, clock, dispatcher: options.dispatcher });
  const detail = (p: Payment) => providers.of(p).describe(p);
  const core = createPaymentsCore({ store, events, providers, logger: logger.child({ component: 'payments' }), clock, newId, lateApproval: config.payments.lateApproval, onOutbox, onFinal });
  const webhooks = createWebhookDelivery({
    endpoints: config.webhooks.endpoints,
    payments: store.repos.payments,
    present: presenterOf(detail, store.repos.payments),
    network: { key: 'webhooks.network', ...config.webhooks.network },
    timeoutMs: config.webhooks.timeoutMs,
    logger,
    clock,
    beforeSend: settled,
  });
  const deliver = (item: OutboxItem) => (item.kind === WEBHOOK_KIND ? webhooks(item) : core.deliver(item));
  const deliverer = createDeliverer({ outbox: store.repos.outbox, deliver, logger: logger.child({ component: 'outbox' }), clock, ...config.outbox });
  kick = deliverer.kick;

  // sharp is loaded by the QR worker threads only (the event loop never touches libvips).
  const qrPool = options.qrPool ?? createQrPool();
  const images = createQrImages({ fetchTimeoutMs: config.partpay.imageFetch.timeoutMs, maxBytes: config.partpay.imageFetch.maxBytes, fetchPolicy: qrImageFetchPolicy(config), pool: qrPool });
  const qr = createPaymentQr({ images, cache: createQrCache(images, { maxEntries: 2_000 }), payments: store.repos.payments, logger: logger.child({ component: 'qr' }) });
  const service = createPaymentService({
    store,
    core,
    events,
    registry,
    creator: partpayProvider,
    logger: logger.child({ component: 'payments' }),
    clock,
    newId,
    settings: config.payments,
    onOrderCreated: (p) => {
      const terminal = registry.terminal(p.terminalId);
      if (terminal && options.warmQrImages !== false) qr.warm(p, terminal.displayProfile);
    },
  });
  const electrumDeps: ElectrumDeps = {
    store,
    repo: store.repos.electrum,
    payments: store.repos.payments,
    core,
    outbox: store.repos.outbox,
    events,
    registry,
    service,
    paymentQr: qr,
    waiters,
    partnerClient,
    settings: config.electrum,
    logger: logger.child({ component: 'electrum' }),
    clock,
    newId,
    onOutbox,
  };
  const operator = createOperatorActions({ store, core, clock });
  const sse = createSseRegistry({ heartbeatMs: 15_000 });
  let shuttingDown = false;

  const readiness = createReadiness({ probeDatabase: () => backend.probe(), outbox: store.repos.outbox, tokens: () => tokens.status(), merchants: config.merchants, clock, isShuttingDown: () => shuttingDown, stuckAfterMs: 15 * 60_000, ...(backend.disk ? { disk: backend.disk.bind(backend) } : {}), ...(backend.integrity ? { integrity: backend.integrity.bind(backend) } : {}) });
  const liveness = { path: '/', router: livenessRoutes(build), unheld: true };
  // PartPay's failures are counted apart from the terminals': neither can spend the other's allowance.
  const callbackLimits = authFailureLimits(config.server.authFailures);
  const callbackRouter = express.Router();
  const callback = { path: '/', router: callbackRouter };
  callbackRouter.use(
    partpayCallbackRoutes({
      registry,
      payments: store.repos.payments,
      applier: core.applier,
      logger: logger.child({ component: 'callback' }),
      clock,
      allowSources: config.partpay.callbackAllowedSources,
      onCallback: (outcome, p) => metrics.callback(outcome, p?.createdAt ?? null),
    }),
    callbackLimits,
  );
  const timer = metrics.httpTimer();
  const separateCallback = config.server.callbackListener !== undefined;
  const app = createApp({
    logger,
    ...(backend.durable ? { group: backend.durable } : {}),
    trustProxy: config.server.trustProxy,
    before: [timer, hostCheck(allowedHostsFor(config.server))],
    onError: [authFailureLimits(config.server.authFailures)],
    errorFormats: [{ prefix: '/qr/v1', body: electrumErrorBody }],
    mounts: [
      // The API families own their prefixes (nothing at the root answers under them): first, so their requests skip the root routers.
      { path: '/v1', router: terminalRoutes({ registry, service, payments: store.repos.payments, events, qr, sse, electrumQr: store.repos.electrum, logger: logger.child({ component: 'terminals' }), bodyLimit: config.server.bodyLimit, maxWaitSeconds: config.payments.maxWaitSeconds, detail, build, cors: config.server.cors, durable: backend.durable ?? undefined }) },
      { path: '/qr/v1', router: electrumRoutes(electrumDeps, config.server.bodyLimit) },
      liveness,
      { path: '/', router: readinessRoutes(readiness, { token: config.ops.readinessToken }), unheld: true },
      { path: '/', router: metricsRoutes(metrics, { mode: config.ops.metricsAccess, token: config.ops.metricsToken }) },
      ...(separateCallback ? [] : [callback]),
      { path: '/', router: webRoutes({ report: (period) => backend.report(period), config, registry, payments: store.repos.payments, outbox: store.repos.outbox, events, sse, operator, detail, build, metrics, kickOutbox: () => deliverer.kick(), logger: logger.child({ component: 'web' }), clock }) },
    ],
  });
  // PartPay's callback on its own listener (public), apart from the terminals' (store LAN): the
  // callback and /healthz (for a load balancer in front of it; constant, nothing to leak), no
  // readiness, metrics, API or pages. It answers whatever name the public reaches it by.
  const callbackApp = separateCallback ? createApp({ logger, ...(backend.durable ? { group: backend.durable } : {}), trustProxy: config.server.trustProxy, before: [timer], mounts: [liveness, callback] }) : null;

  // On PostgreSQL every daemon schedules every job; the fleet-wide ones run on one daemon per round (advisory lock).
  const fleetWide = (name: string, schedule: string, run: () => Promise<unknown>): Job => ({
    name,
    schedule,
    run: async () => {
      const round = await backend.asLeader(name, run);
      return round.ran ? round.value : undefined;
    },
  });
  const jobs: Job[] = [
    // Per daemon: its own readiness, and its share of the outbox (rows are claimed, one daemon at a time each).
    { name: 'readiness-probe', schedule: config.jobs.readinessProbe, run: async () => readiness.probe() },
    { name: 'deliver-outbox', schedule: config.jobs.deliverOutbox, run: () => deliverer.run() },
    fleetWide('reconcile', config.jobs.reconcile, () => core.reconciler.reconcileOverdue(config.payments.callbackOverdueSeconds * 1000)),
    fleetWide('expire', config.jobs.expire, () => core.reconciler.expireDue()),
    fleetWide('purge', config.jobs.purge, () => backend.purge(clock(), { ...config.retention, idempotencyKeyHours: config.payments.idempotencyKeyHours })),
    fleetWide('report', config.jobs.report, async () => {
      const day = previousLocalDay(clock());
      const file = writeReportFile(config.reports.dir, day.date, await backend.report({ from: day.from, to: day.to }));
      logger.info('end-of-day report written', { file });
      return file;
    }),
    // Only a file is backed up by the daemon (PostgreSQL: pg_dump and PITR, see README). An in-memory database (tests) has no file to copy; keep 0 turns the job off.
    ...(sqlite && config.backups.keep > 0 && !sqlite.db.memory
      ? [
          {
            name: 'backup',
            schedule: config.jobs.backup,
            run: async () => {
              const backup = await writeScheduledBackup(sqlite.db.name, config.backups, clock(), { onFallback: (error) => logger.warn('this backup is copied on the event loop: payments wait while it runs', { error: error.message }) });
              logger.info('database backup written', { file: backup.file, bytes: backup.bytes, schemaVersion: backup.schemaVersion, removed: backup.removed });
              return backup.file;
            },
          },
        ]
      : []),
  ];
  let servers: Server[] = [];
  let callbackUrl: string | null = null;
  let running: ReturnType<typeof startJobs> | null = null;

  return {
    app,
    /** Which database this daemon runs on. */
    backend,
    /** The SQLite connection (tests, and what only a file has); throws on PostgreSQL. */
    get db() {
      return onlySqlite('db', sqlite?.db);
    },
    registry,
    /** The synchronous SQLite repositories (tests); throw on PostgreSQL: use `store.repos`. */
    get payments() {
      return onlySqlite('payments', sqlite?.payments);
    },
    get outbox() {
      return onlySqlite('outbox', sqlite?.outbox);
    },
    /** The storage port the daemon reads and writes through (either backend). */
    store,
    service,
    operator,
    core,
    providers,
    deliverer,
    tokens,
    metrics,
    /** Committed payment changes; its listener count is the long-polls and streams waiting on payments. */
    events,
    jobs,
    get group() {
      return onlySqlite('group', sqlite?.group);
    },
    /** Listens on the configured (or given) address and starts the jobs; resolves with the base URL. */
    async start(at: { host?: string; port?: number } = {}): Promise<string> {
      await readiness.probe();
      opened?.startCounting();
      const main = await listen(app, { host: at.host ?? config.server.host, port: at.port ?? config.server.port, tls: config.server.tls });
      servers = [main.server];
      callbackUrl = main.url;
      if (callbackApp && config.server.callbackListener) {
        const cb = await listen(callbackApp, config.server.callbackListener);
        servers.push(cb.server);
        callbackUrl = cb.url;
      }
      running = startJobs(jobs, logger);
      // Resume what a previous run left: owed deliveries now (refunds it was attempting included), overdue payments on the next round.
      // On a shared PostgreSQL another daemon may be attempting them this moment: their leases hand them over instead.
      if (backend.kind === 'sqlite') await core.resume();
      deliverer.kick();
      // The QR worker starts now, in the background, rather than with the first payment.
      if (options.warmQrImages !== false) qrPool.prestart();
      return main.url;
    },
    /** Base URL of the listener serving PartPay's callback (the main one unless separated). */
    callbackBaseUrl(): string | null {
      return callbackUrl;
    },
    /** Graceful stop: refuse new work, end long-polls and streams, finish in-flight work, stop jobs, end the QR worker threads, close the database. */
    async stop(): Promise<void> {
      shuttingDown = true;
      sse.closeAll();
      waiters.cancelAll();
      await Promise.all(servers.map((s) => closeGracefully(s, config.server.shutdownGraceSeconds * 1000)));
      await running?.stop();
      await deliverer.stop();
      // After the listeners: no request can ask for a QR image any more.
      await Promise.all([images.close(), qrPool.close()]);
      metrics.stop();
      // A backend given by the caller is the caller's to close (it may outlive this daemon).
      if (opened) await backend.close();
    },
  };
}

export type Daemon = ReturnType<typeof createDaemon>;

/** A fetch (for openid-client) that sends through `dispatcher`. */
function fetchThrough(dispatcher: Dispatcher) {
  return ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher })) as unknown as NonNullable<Parameters<typeof createTokenManager>[0]['fetch']>;
}
