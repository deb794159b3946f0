import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createScanWaiters } from '../electrum/scan-waiters.js';
import { partpayClientFromConfig } from '../partpay/from-config.js';
import { createTokenManager } from '../partpay/token-manager.js';
import { createPaymentsCore } from '../payments/core.js';
import { createPaymentEvents } from '../payments/events.js';
import { createOperatorActions } from '../payments/operator.js';
import { owingWebhooks } from '../webhooks/owe.js';
import { providersFromConfig } from '../providers-from-config.js';
import type { Config } from '../shared/config/load.js';
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
 * The payments core wired as in the daemon (same providers, same operations), on the
 * configured database (SQLite or PostgreSQL), committing each write at once. Owed deliveries
 * are left in the outbox for a running daemon's deliverer (it polls on its schedule); the CLI
 * never runs the deliverer itself.
 */
export async function cliOperator(ctx: CliContext) {
  const config = ctx.config();
  const logger = cliLogger(ctx);
  const clock = ctx.clock;
  const merchants = new Map(config.merchants.map((m) => [m.id, m]));
  const partpay = partpayClientFromConfig(config, cliTokenManager(config, logger, clock), logger);
  // A change made here owes its webhooks like one made by the daemon (its deliverer sends them on its schedule).
  const { store } = await ctx.openStore({ wrap: (r) => owingWebhooks(r, { endpoints: config.webhooks.endpoints, clock }) });
  const { providers } = providersFromConfig(config, { partpay, registry: { merchant: (id) => merchants.get(id) }, electrumRepos: store.repos.electrum, waiters: createScanWaiters(), beforeSend: () => store.settled(), logger, clock });
  const core = createPaymentsCore({ store, events: createPaymentEvents(), providers, logger, clock, newId: randomUUID, lateApproval: config.payments.lateApproval, onOutbox: () => undefined });
  return { providers, operator: createOperatorActions({ store, core, clock }) };
}
