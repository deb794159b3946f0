import { createHash } from 'node:crypto';
import type { OutboxRepository } from '../outbox/repository.js';
import type { Port, Repos, Store } from '../storage/port.js';
import type { PaymentsCore } from '../payments/core.js';
import type { PaymentEvents } from '../payments/events.js';
import type { PaymentQr } from '../payments/payment-qr.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { PaymentService } from '../payments/service.js';
import type { RegistryView, Terminal } from '../registry/registry.js';
import type { Config, ElectrumClient, ElectrumPartner } from '../shared/config/load.js';
import type { Logger } from '../shared/logger.js';
import { alphaToNumeric } from './currency.js';
import { ElectrumError } from './errors.js';
import type { PartnerClient } from './partner-client.js';
import type { ElectrumRepository, MessageRow } from './repository.js';
import type { ScanWaiters } from './scan-waiters.js';
import type { Institution, LedgerAmount, Originator } from './schemas.js';

/** Everything the Electrum operations need; built once by the daemon. */
export interface ElectrumDeps {
  /** The storage port: Electrum's writes are transactions of it; answers and partner calls wait for their commit. */
  store: Pick<Store, 'tx' | 'settled'>;
  /** Outside a transaction: the port's repositories; inside one, the transaction's (see {@link within}). */
  repo: Port<ElectrumRepository>;
  payments: Port<PaymentRepository>;
  /** The payments core: every state change, cancel, refund and owed advice goes through it. */
  core: Pick<PaymentsCore, 'applier' | 'owed' | 'refunds'>;
  /** For the confirmations owed to partners (cancels and refunds are owed through the core). */
  outbox: Pick<Port<OutboxRepository>, 'enqueue'>;
  events: PaymentEvents;
  registry: RegistryView;
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

/** `deps` whose repositories are those of the transaction `r`: what the helpers below are given inside one. */
export const within = (deps: ElectrumDeps, r: Repos): ElectrumDeps => ({ ...deps, repo: r.electrum, payments: r.payments, outbox: r.outbox });

/** Runs `fn` as one transaction with `deps` bound to it. */
export const inTx = <T>(deps: ElectrumDeps, fn: (d: ElectrumDeps) => Promise<T>): Promise<T> => deps.store.tx((r) => fn(within(deps, r)));

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

/** The sender of a POS client's messages: its ids are its own, whatever ids other parties use. */
export const posSender = (clientId: string): string => `pos:${clientId}`;
/** The sender of a partner's messages (scan notifications). */
export const partnerSender = (partnerId: string): string => `partner:${partnerId}`;
/** Ourselves, as the sender of what we send partners: to a partner all our POS clients are this one sender. */
export const OUR_SENDER = 'tenderbridge';

/**
 * Records a request id from `sender`. A fresh id is claimed; an id this sender used before is
 * a DUPLICATE_RECORD for a request, and for an advice a repeat to be answered exactly as the
 * first time (`replay`). Another sender's ids are never looked at: no party learns of, or
 * blocks, another's messages.
 */
export async function claimMessage(
  deps: ElectrumDeps,
  m: { id: string; kind: string; sender: string; body: unknown; relatedId?: string | undefined },
  advice: boolean,
): Promise<{ replay: null } | { replay: MessageRow }> {
  // Insert first, read only on a conflict: a fresh id (nearly every message) costs one statement.
  // A concurrent claim of the same id (another daemon) waits for ours and then conflicts.
  const claimed = await deps.repo.claimMessage({ sender: m.sender, id: m.id, kind: m.kind, requestHash: hashBody(m.body), relatedId: m.relatedId ?? null, responseStatus: null, responseBody: null, createdAt: deps.clock() });
  if (claimed) return { replay: null };
  const seen = await deps.repo.message(m.sender, m.id);
  if (seen !== null && advice && seen.kind === m.kind && seen.responseStatus !== null) return { replay: seen };
  throw new ElectrumError(400, 'DUPLICATE_RECORD', 'Duplicate message id', { originalId: m.id, detailMessage: `a message with id "${m.id}" was already received` });
}

/**
 * The id a message from a POS carries on to a partner (inside the caller's transaction): the
 * POS's own id, unless we already sent a partner that id (for another POS client's message) or
 * it names another order; then a fresh one of ours. Claimed under {@link OUR_SENDER}, so every
 * partner sees each of our messages once, with an id of its own.
 */
export async function partnerFacingId(deps: ElectrumDeps, posId: string, kind: string, paymentId: string): Promise<string> {
  const taken = async (id: string) => (await deps.repo.message(OUR_SENDER, id)) !== null || (await deps.payments.orderIdTaken(id));
  const id = (await taken(posId)) ? deps.newId() : posId;
  await deps.repo.insertMessage({ sender: OUR_SENDER, id, kind, requestHash: hashBody({ posId }), relatedId: paymentId, responseStatus: null, responseBody: null, createdAt: deps.clock() });
  return id;
}
