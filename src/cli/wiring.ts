import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createOutboxRepository } from '../outbox/repository.js';
import { createElectrumRepository } from '../electrum/repository.js';
import { createScanWaiters } from '../electrum/scan-waiters.js';
import { partpayClientFromConfig } from '../partpay/from-config.js';
import { createTokenManager } from '../partpay/token-manager.js';
import { createPaymentsCore } from '../payments/core.js';
import { createPaymentEvents } from '../payments/events.js';
import { createOperatorActions } from '../payments/operator.js';
import { createPaymentRepository } from '../payments/repository.js';
import { owingWebhooks } from '../webhooks/owe.js';
import { providersFromConfig } from '../providers-from-config.js';
import { createRegistry } from '../registry/registry.js';
import type { Config } from '../shared/config/load.js';
import { immediateCommit } from '../shared/db/group-commit.js';
import { sqliteStore } from '../storage/sqlite-store.js';
import type { Db } from '../shared/db/open.js';
import { createLogger, type Logger } from '../shared/logger.js';
import type { CliContext } from './context.js';

/** A logger for library code run by the CLI: only errors, as JSON lines on stderr. */
export function cliLogger(ctx: CliContext): Logger {
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      ctx.err(String(chunk));
      callback();
    },
  });
  return createLogger({ level: 'error', stream });
}

/** The PartPay token manager as the daemon builds it. */
export function cliTokenManager(config: Config, logger: Logger, clock: () => number) {
  return createTokenManager({
    tokenUrl: config.partpay.tokenUrl,
    audience: config.partpay.audience,
    timeoutMs: config.partpay.tokenTimeoutMs,
    refreshMarginSeconds: config.partpay.tokenRefreshMarginSeconds,
    logger,
    now: clock,
  });
}

/**
 * The payments core wired as in the daemon (same providers, same operations), committing
 * each write at once. Owed deliveries are left in the outbox for the running daemon's
 * deliverer (it polls on its schedule); the CLI never runs the deliverer itself.
 */
export function cliOperator(ctx: CliContext, db: Db) {
  const config = ctx.config();
  const logger = cliLogger(ctx);
  const clock = ctx.clock;
  const group = immediateCommit(db);
  const registry = createRegistry(db, config);
  const outbox = createOutboxRepository(db);
  const payments = createPaymentRepository(db);
  const partpay = partpayClientFromConfig(config, cliTokenManager(config, logger, clock), logger);
  const electrumRepo = createElectrumRepository(db);
  // A change made here owes its webhooks like one made by the daemon (its deliverer sends them on its schedule).
  const store = sqliteStore(group, { payments, outbox, electrum: electrumRepo }, { wrap: (r) => owingWebhooks(r, { endpoints: config.webhooks.endpoints, clock }) });
  const { providers } = providersFromConfig(config, { partpay, registry, electrumRepos: store.repos.electrum, waiters: createScanWaiters(), beforeSend: () => Promise.resolve(), logger, clock });
  const core = createPaymentsCore({ store, events: createPaymentEvents(), providers, logger, clock, newId: randomUUID, lateApproval: config.payments.lateApproval, onOutbox: () => undefined });
  return { payments, outbox, providers, operator: createOperatorActions({ store, core, clock }) };
}
