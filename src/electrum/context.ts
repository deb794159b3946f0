import { createHash } from 'node:crypto';
import type { OutboxRepository } from '../outbox/repository.js';
import type { PaymentsCore } from '../payments/core.js';
import type { PaymentEvents } from '../payments/events.js';
import type { PaymentQr } from '../payments/payment-qr.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { PaymentService } from '../payments/service.js';
import type { Registry, Terminal } from '../registry/registry.js';
import type { Config, ElectrumClient, ElectrumPartner } from '../shared/config/load.js';
import type { GroupCommit } from '../shared/db/group-commit.js';
import type { Logger } from '../shared/logger.js';
import { alphaToNumeric } from './currency.js';
import { ElectrumError } from './errors.js';
import type { PartnerClient } from './partner-client.js';
import type { ElectrumRepository, MessageRow } from './repository.js';
import type { ScanWaiters } from './scan-waiters.js';
import type { Institution, LedgerAmount, Originator } from './schemas.js';

/** Everything the Electrum operations need; built once by the daemon. */
export interface ElectrumDeps {
  /** Group commit: Electrum's writes join the current batch; answers and partner calls wait for its commit. */
  group: Pick<GroupCommit, 'transaction' | 'settled'>;
  repo: ElectrumRepository;
  payments: PaymentRepository;
  /** The payments core: every state change, cancel, refund and owed advice goes through it. */
  core: Pick<PaymentsCore, 'applier' | 'owed' | 'refunds'>;
  /** For the confirmations owed to partners (cancels and refunds are owed through the core). */
  outbox: Pick<OutboxRepository, 'enqueue'>;
  events: PaymentEvents;
  registry: Registry;
  service: PaymentService;
  paymentQr: PaymentQr;
  waiters: ScanWaiters;
  partnerClient: (partner: ElectrumPartner) => PartnerClient;
  settings: Config['electrum'];
  logger: Logger;
  clock: () => number;
  newId: () => string;
  onOutbox: () => void;
}

export const hashBody = (body: unknown): string => createHash('sha256').update(JSON.stringify(body)).digest('hex');

/** The sender's `client.id` must be the authenticated client: a caller can only act as itself. */
export function assertClientIsCaller(client: Institution, caller: ElectrumClient): void {
  if (client.id !== caller.id) {
    throw new ElectrumError(400, 'FORMAT_ERROR', 'client.id is not the caller', { detailMessage: `client.id "${client.id}" does not match the authenticated client "${caller.id}"` });
  }
}

/** The registry terminal behind `originator.terminalId`, if this client may act for it and it is not disabled. */
export function terminalFor(deps: ElectrumDeps, originator: Originator, caller: ElectrumClient): Terminal {
  const terminal = caller.terminals.includes(originator.terminalId) ? deps.registry.terminal(originator.terminalId) : null;
  if (!terminal) {
    throw new ElectrumError(400, 'INVALID_MERCHANT', 'Terminal not known for this client', { detailMessage: `originator.terminalId "${originator.terminalId}" is not a terminal of client "${caller.id}"` });
  }
  // New QR codes and payments only: confirmations and reversals of payments already made still go through.
  if (terminal.disabled) {
    throw new ElectrumError(400, 'INVALID_MERCHANT', 'Terminal disabled', { detailMessage: `terminal "${terminal.id}" is disabled (tenderbridge terminals enable ${terminal.id})` });
  }
  return terminal;
}

/** The merchant currency of a terminal as ISO 4217 alpha and numeric. */
export function currencyOf(deps: ElectrumDeps, terminal: Terminal): { alpha: string; numeric: string } {
  const merchant = deps.registry.merchant(terminal.merchantId);
  const alpha = merchant?.currency ?? 'NZD';
  return { alpha, numeric: alphaToNumeric(alpha) ?? '000' };
}

/** Checks a LedgerAmount against the terminal's currency and sanity; returns minor units. */
export function checkAmount(amount: LedgerAmount, expectedNumeric: string, field: string): number {
  if (amount.currency !== expectedNumeric) {
    throw new ElectrumError(400, 'INVALID_AMOUNT', 'Currency not accepted here', { detailMessage: `${field}.currency "${amount.currency}" is not the merchant's currency "${expectedNumeric}"` });
  }
  if (!Number.isSafeInteger(amount.amount) || amount.amount <= 0) {
    throw new ElectrumError(400, 'INVALID_AMOUNT', 'Amount must be positive', { detailMessage: `${field}.amount must be a positive integer number of minor units` });
  }
  return amount.amount;
}

/**
 * Records a request id. A fresh id is claimed; an id seen before is a DUPLICATE_RECORD for a
 * request, and for an advice a repeat to be answered exactly as the first time (`replay`).
 */
export function claimMessage(
  deps: ElectrumDeps,
  m: { id: string; kind: string; sender: string; body: unknown; relatedId?: string | undefined },
  advice: boolean,
): { replay: null } | { replay: MessageRow } {
  const seen = deps.repo.message(m.id);
  if (!seen) {
    deps.repo.insertMessage({ id: m.id, kind: m.kind, sender: m.sender, requestHash: hashBody(m.body), relatedId: m.relatedId ?? null, responseStatus: null, responseBody: null, createdAt: deps.clock() });
    return { replay: null };
  }
  if (advice && seen.kind === m.kind && seen.sender === m.sender && seen.responseStatus !== null) return { replay: seen };
  throw new ElectrumError(400, 'DUPLICATE_RECORD', 'Duplicate message id', { originalId: m.id, detailMessage: `a message with id "${m.id}" was already received` });
}
