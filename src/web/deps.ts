import type { Metrics } from '../ops/metrics.js';
import type { BuildInfo } from '../ops/build-info.js';
import type { OutboxRepository } from '../outbox/repository.js';
import type { PaymentEvents } from '../payments/events.js';
import type { OperatorActions } from '../payments/operator.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { RegistryView } from '../registry/registry.js';
import type { EndOfDayReport } from '../reports/end-of-day.js';
import type { ProviderDetail } from '../terminals/presenter.js';
import type { SseRegistry } from '../terminals/sse.js';
import type { Config } from '../shared/config/load.js';
import type { Port } from '../storage/port.js';
import type { Logger } from '../shared/logger.js';

/** What the web pages and the console API may use; built by the daemon. */
export interface WebDeps {
  /** The end-of-day figures of a period, from whichever database holds them. */
  report(period: { from: number; to: number }): Promise<EndOfDayReport>;
  config: Config;
  registry: RegistryView;
  /** The payments and the outbox, through the storage port. */
  payments: Port<PaymentRepository>;
  outbox: Port<OutboxRepository>;
  events: PaymentEvents;
  /** Open streams, ended at shutdown (the console's live feed is one). */
  sse: SseRegistry;
  operator: OperatorActions;
  /** Which tenderbridge this is, in the console's footer. */
  build?: BuildInfo;
  /** The provider's own facts of a payment (PartPay's order, Electrum's request, partner and advice). */
  detail: ProviderDetail;
  metrics: Metrics;
  /** Asks the outbox deliverer for a round now (after an operator retries a dead letter). */
  kickOutbox: () => void;
  logger: Logger;
  clock: () => number;
}
