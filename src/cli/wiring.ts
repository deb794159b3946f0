import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createOutboxRepository } from '../outbox/repository.js';
import { partpayClientFromConfig, refundSafetyDelayMs } from '../partpay/from-config.js';
import { createTokenManager } from '../partpay/token-manager.js';
import { createApplier } from '../payments/apply.js';
import { createPaymentEvents } from '../payments/events.js';
import { createOperatorActions } from '../payments/operator.js';
import { createPaymentRepository } from '../payments/repository.js';
import { createUpstreamSync } from '../payments/upstream-sync.js';
import { createRegistry } from '../registry/registry.js';
import type { Config } from '../shared/config/load.js';
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
 * The payments core wired as in the daemon, for operator actions from the CLI. Owed
 * deliveries are left in the outbox for the running daemon's deliverer (it polls on its
 * schedule); the CLI never runs the deliverer itself.
 */
export function cliOperator(ctx: CliContext, db: Db) {
  const config = ctx.config();
  const logger = cliLogger(ctx);
  const clock = ctx.clock;
  const registry = createRegistry(db, config);
  const payments = createPaymentRepository(db);
  const outbox = createOutboxRepository(db);
  const partpay = partpayClientFromConfig(config, cliTokenManager(config, logger, clock), logger);
  const onOutbox = (): void => undefined;
  const applier = createApplier({ db, payments, outbox, events: createPaymentEvents(), logger, clock, newId: randomUUID, lateApproval: config.payments.lateApproval, onOutbox });
  const sync = createUpstreamSync({ db, payments, outbox, applier, registry, partpay, logger, clock, onOutbox, refundSafetyDelayMs: refundSafetyDelayMs(config) });
  return { payments, outbox, operator: createOperatorActions({ db, payments, outbox, applier, sync, registry, partpay, clock, newId: randomUUID }) };
}
