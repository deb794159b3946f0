#!/usr/bin/env node
/**
 * The composition root: load config, build the logger and the daemon, listen, start jobs,
 * handle signals. Nothing else in the code base reads process.env or argv.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDaemon } from './daemon.js';
import { acquireDatabaseLock } from './shared/db/daemon-lock.js';
import { walHasFrames } from './shared/db/integrity-check.js';
import { crashAfterCommit, crashPointFrom, CRASH_AFTER_COMMIT_ENV } from './ops/crash-point.js';
import { startEmbeddedElectrumPartner, startEmbeddedPartPay } from './demo/embedded-simulator.js';
import { describeBuild, readBuildInfo } from './ops/build-info.js';
import { pendingMigrations, startupAllowanceMs } from './ops/startup-time.js';
import { createSystemdNotifier } from './ops/systemd-notify.js';
import { redactDatabaseUrl } from './shared/config/database-schema.js';
import type { PostgresBackend } from './storage/postgres/backend.js';
import { ConfigError, configPathFrom, loadConfigFile, maskedConfig } from './shared/config/load.js';
import { createLogger, logFormatFrom, LOG_LEVELS, type LogFormat } from './shared/logger.js';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  let config;
  let crashPoint: number | null;
  let format: LogFormat;
  try {
    config = loadConfigFile(configPathFrom(process.argv.slice(2), process.env, appRoot), process.env);
    crashPoint = crashPointFrom(process.env);
    format = logFormatFrom(process.argv.slice(2), process.env, process.stdout.isTTY === true);
    const override = process.env['TENDERBRIDGE_LOG_LEVEL'];
    if (override && !LOG_LEVELS.includes(override)) throw new ConfigError('TENDERBRIDGE_LOG_LEVEL', [`must be one of ${LOG_LEVELS.join(', ')}, not "${override}"`]);
  } catch (error) {
    if (error instanceof ConfigError || (error instanceof Error && error.message.startsWith('--log-format'))) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG: systemd shows it, and Restart=on-failure will not help
    }
    throw error;
  }
  // TENDERBRIDGE_LOG_LEVEL overrides the config's level (e.g. debug for one run, without editing the file).
  const level = process.env['TENDERBRIDGE_LOG_LEVEL'] || config.log.level;
  const logger = createLogger({ level, format });
  const build = readBuildInfo(appRoot);
  logger.info(`starting tenderbridge ${describeBuild(build)}`, { version: build.version, commit: build.commit, node: build.node, config: config.source, effective: maskedConfig(config.raw) });
  // systemd Type=notify (a no-op without $NOTIFY_SOCKET): READY=1, STOPPING=1, WATCHDOG=1.
  const notifier = createSystemdNotifier({ env: process.env, logger });
  let stopWatchdog = (): void => undefined;

  // The crash suite's hook: SIGKILL right after the k-th durable commit (never set in production).
  if (crashPoint !== null) logger.warn(`test hook ${CRASH_AFTER_COMMIT_ENV} is set: ${crashPoint === 0 ? 'every durable commit is counted' : `this daemon kills itself (SIGKILL) right after durable commit ${crashPoint}`}`, { crashPoint });
  const onCommitted = crashPoint === null ? undefined : crashAfterCommit(crashPoint, { logger, kill: () => process.kill(process.pid, 'SIGKILL') });
  let lock: { release(): void } | null = null;
  let postgres: PostgresBackend | null = null;
  if (config.database.kind === 'sqlite') {
    const databasePath = config.database.path;
    // Held until the process ends: a second daemon, or `tenderbridge db restore`, on this database is refused meanwhile.
    lock = databasePath === ':memory:' ? null : acquireDatabaseLock(resolve(databasePath), `tenderbridge daemon ${build.version}`);
    // Start-up may read the whole file (the integrity check after an unclean stop; before migrating,
    // a backup and index builds): on a big one that outlasts TimeoutStartSec=, so ask systemd for the time it may take.
    if (databasePath !== ':memory:') {
      const checking = walHasFrames(databasePath);
      const migrating = pendingMigrations(databasePath);
      const allowance = startupAllowanceMs(databasePath, { migrating, checking });
      if (allowance > 0) await notifier.extendStartTimeout(allowance, checking ? 'checking the database before serving (the last run did not stop cleanly)' : 'migrating the database before serving');
    }
  } else {
    // Several daemons share this database: each connects, checks the schema (an empty database gets it) and joins the fleet.
    logger.info('connecting to PostgreSQL', { database: redactDatabaseUrl(config.database.url) });
    // Imported here: a daemon on SQLite (a store's) never loads pg and the PostgreSQL storage.
    const { openPostgresBackend } = await import('./storage/postgres/backend.js');
    postgres = await openPostgresBackend({ database: config.database, merchants: config.merchants, stores: config.stores, terminals: config.terminals, logger, clock: Date.now, appVersion: build.version });
  }
  const daemon = createDaemon(config, { logger, build, ...(postgres ? { backend: postgres } : {}), ...(onCommitted ? { onCommitted } : {}) });
  const url = await daemon.start();
  const simulator = await startEmbeddedPartPay(config, config.server.publicUrl ?? url, logger);
  const partnerSimulator = await startEmbeddedElectrumPartner(config, config.server.publicUrl ?? url, logger);
  logger.info(`tenderbridge ready on ${url} (${describeBuild(build)})`, {
    url,
    version: build.version,
    commit: build.commit,
    virtualTerminal: `${url}/terminal`,
    console: `${url}/console`,
    terminalApi: `${url}/v1`,
    callback: `${url}/partpay/callback`,
    health: `${url}/healthz`,
    ...(simulator ? { partpaySimulator: simulator.url(), customerPage: `${simulator.url()}/phone` } : {}),
    ...(partnerSimulator ? { electrum: `${url}/qr/v1`, partnerWallet: `${partnerSimulator.url()}/` } : {}),
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    // Queued behind any watchdog ping still in flight: it must be sent before we exit.
    const toldStopping = notifier.stopping();
    try {
      await daemon.stop();
      await postgres?.close();
      lock?.release();
      await simulator?.close();
      await partnerSimulator?.close();
      stopWatchdog();
      await toldStopping;
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error('unclean stop', { error: (error as Error).message });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('uncaughtException', (error) => {
    logger.error('fatal error', { error: error.message, stack: error.stack });
    process.exit(70);
  });
  process.on('unhandledRejection', (reason) => {
    logger.error('fatal unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
    process.exit(70);
  });
  // Listening, jobs running, signals handled: tell systemd, then keep its watchdog fed.
  await notifier.ready();
  stopWatchdog = notifier.startWatchdog();
}

main().catch((error: unknown) => {
  console.error(`tenderbridge failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
