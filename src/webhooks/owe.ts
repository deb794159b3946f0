import type { NewEvent } from '../payments/repository.js';
import type { Repos } from '../storage/port.js';
import type { WebhookEndpoint } from '../shared/config/load.js';

/** Outbox kind of one webhook delivery: one row per event and endpoint. */
export const WEBHOOK_KIND = 'webhook';

/** What a webhook row carries: which endpoint, which journal entry (the event id). */
export interface WebhookPayload {
  endpoint: string;
  seq: number;
}

/** The events a webhook POSTs (the `type` of its body), as `GET /v1/events` names them. */
export const WEBHOOK_EVENT_TYPES = ['payment.state_changed', 'refund.succeeded', 'refund.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * The webhook event a journal entry is, or null: every state change of a payment, and the
 * settling of each refund (its success, or its final failure: an `upstream_error` of the refund
 * call that did not leave it queued), as the terminal's stream reads them from the journal
 * (TERMINAL_CHANGE_SQL in src/payments/repository.ts). A refund's request is not sent: its
 * outcome is, and the payment's change with it.
 * @example webhookEventOf({ kind: 'refund_settled', paymentId, at, actor }) // 'refund.succeeded'
 */
export function webhookEventOf(e: Pick<NewEvent, 'kind' | 'detail'>): WebhookEventType | null {
  if (e.kind === 'state_changed') return 'payment.state_changed';
  if (e.kind === 'refund_settled') return 'refund.succeeded';
  if (e.kind === 'upstream_error' && e.detail?.['call'] === 'refund' && e.detail['queued'] === undefined) return 'refund.failed';
  return null;
}

/** True if the endpoint wants events of payments of this terminal and store (no filter = every payment). */
export function endpointMatches(endpoint: Pick<WebhookEndpoint, 'terminals' | 'stores'>, terminalId: string, storeId: string): boolean {
  if (endpoint.terminals === undefined && endpoint.stores === undefined) return true;
  return (endpoint.terminals ?? []).includes(terminalId) || (endpoint.stores ?? []).includes(storeId);
}

export interface WebhookOwingDeps {
  endpoints: readonly WebhookEndpoint[];
  clock: () => number;
  /** Asks the deliverer for a round (after the commit of what was owed). */
  kick?: () => void;
}

/**
 * Repositories whose journal also owes a webhook delivery for each state change and each
 * settled refund (webhookEventOf), to each matching endpoint, in the same transaction as the
 * journal entry (every caller of `journal` for these runs in one, a refund's settle or failure
 * with the refund's record): the change and its deliveries commit together or not at all, and
 * nothing is sent before the commit (the outbox deliverer sends, kicked after it). A store
 * applies it to every set of repositories it hands out, on either database. Without endpoints
 * the repositories are returned as they are.
 * @example const store = sqliteStore(group, repos, { wrap: (r) => owingWebhooks(r, { endpoints: config.webhooks.endpoints, clock, kick }) });
 */
export function owingWebhooks(r: Repos, deps: WebhookOwingDeps): Repos {
  if (deps.endpoints.length === 0) return r;
  const owe = async (e: NewEvent, seq: number): Promise<void> => {
    if (webhookEventOf(e) === null || e.paymentId === null || e.paymentId === undefined) return;
    const p = await r.payments.get(e.paymentId);
    if (!p) return;
    let owed = false;
    for (const endpoint of deps.endpoints) {
      if (!endpointMatches(endpoint, p.terminalId, p.storeId)) continue;
      const payload: WebhookPayload = { endpoint: endpoint.id, seq };
      await r.outbox.enqueue(WEBHOOK_KIND, p.id, { ...payload }, deps.clock());
      owed = true;
    }
    const kick = deps.kick;
    if (owed && kick) r.afterCommit(kick);
  };
  return {
    ...r,
    payments: {
      ...r.payments,
      async journal(e: NewEvent): Promise<number> {
        const seq = await r.payments.journal(e);
        await owe(e, seq);
        return seq;
      },
    },
  };
}
