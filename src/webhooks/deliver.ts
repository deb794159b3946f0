import { request, type Dispatcher } from 'undici';
import type { DeliveryOutcome } from '../outbox/deliverer.js';
import type { OutboxItem } from '../outbox/repository.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { Port } from '../storage/port.js';
import type { WebhookEndpoint } from '../shared/config/load.js';
import type { Logger } from '../shared/logger.js';
import { urlProblem, type EgressPolicy } from '../shared/net/egress-policy.js';
import { createGuardedAgent, egressRefusal } from '../shared/net/guarded-agent.js';
import { discardBody, errorCode, isResponseTimeout, startDeadline } from '../shared/outbound-http.js';
import type { PresentPayment } from '../terminals/presenter.js';
import { terminalEventOf } from '../terminals/terminal-stream.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface WebhookDeliveryDeps {
  endpoints: readonly WebhookEndpoint[];
  /** The journal and the payments, through the storage port. */
  payments: Pick<Port<PaymentRepository>, 'get' | 'getRefund' | 'events'>;
  present: PresentPayment;
  /** Where endpoints may be (`webhooks.network`). */
  network: EgressPolicy;
  /** Whole exchange, per delivery. */
  timeoutMs: number;
  logger: Logger;
  clock: () => number;
  /** Awaited before each POST: the rows being delivered must be durable first. */
  beforeSend: () => Promise<void>;
  /** Where requests go instead (tests); default a guarded keep-alive pool checking every address. */
  dispatcher?: Dispatcher | undefined;
}

/**
 * Delivers one webhook outbox row: POSTs the event (the `GET /v1/events` shape, id = journal
 * seq, the payment as it is now) signed with the endpoint's secret. 2xx is done; any other
 * status, a timeout or a network failure is retried with the outbox's backoff; an address the
 * egress policy refuses, an endpoint no longer configured or an event purged are permanent
 * (a dead letter an operator may retry once config is mended).
 * @example const webhooks = createWebhookDelivery({ endpoints, payments: store.repos.payments, present: presenterOf(detail, store.repos.payments), network: { key: 'webhooks.network' }, timeoutMs: 10_000, logger, clock, beforeSend: () => group.settled() });
 */
export function createWebhookDelivery(deps: WebhookDeliveryDeps) {
  const byId = new Map(deps.endpoints.map((e) => [e.id, e]));
  for (const e of deps.endpoints) {
    const problem = urlProblem(new URL(e.url), deps.network);
    if (problem !== null) throw new Error(`webhook endpoint ${e.id} (${e.url}): ${problem}`);
  }
  const dispatcher = deps.dispatcher ?? createGuardedAgent(deps.network);
  const logger = deps.logger.child({ component: 'webhooks' });

  return async function deliver(item: OutboxItem): Promise<DeliveryOutcome> {
    const endpointId = String(item.payload['endpoint']);
    const seq = Number(item.payload['seq']);
    const endpoint = byId.get(endpointId);
    if (!endpoint) throw new Error(`webhook endpoint "${endpointId}" is no longer in webhooks.endpoints; add it back and retry, or leave this dead letter`);
    const row = item.paymentId === null ? undefined : (await deps.payments.events(item.paymentId, seq - 1))[0];
    if (row?.seq !== seq) throw new Error(`webhook ${endpointId}: journal entry ${seq} of payment ${item.paymentId} is gone (purged)`);
    const event = await terminalEventOf(row, deps);
    const body = JSON.stringify(event);
    await deps.beforeSend();
    const started = Date.now();
    const deadline = startDeadline(deps.timeoutMs);
    let status: number;
    try {
      // undici's request() never follows redirects: a 3xx is an answer (retried), never another host.
      const res = await request(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tenderbridge-webhooks',
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(endpoint.secret, body, Math.floor(deps.clock() / 1000)),
          'tenderbridge-event-id': String(seq),
          'tenderbridge-event-type': event.type,
          'tenderbridge-webhook-id': endpoint.id,
        },
        body,
        dispatcher,
        signal: deadline.signal,
        headersTimeout: deps.timeoutMs,
        bodyTimeout: deps.timeoutMs,
      });
      status = res.statusCode;
      // The answer's body means nothing to us: never read (an endless body costs nothing).
      discardBody(res.body);
    } catch (error) {
      const refusal = egressRefusal(error);
      if (refusal) throw new Error(`webhook ${endpoint.id} (${endpoint.url}): ${refusal.message}`);
      const reason = deadline.expired || isResponseTimeout(error) ? `timeout after ${deps.timeoutMs} ms` : (errorCode(error) ?? (error instanceof Error ? error.message : String(error)));
      logger.warn('webhook delivery got no answer', { webhookId: endpoint.id, eventId: seq, paymentId: item.paymentId, attempt: item.attempts + 1, reason, ms: Date.now() - started });
      return { retry: `webhook ${endpoint.id}: ${reason}` };
    } finally {
      deadline.clear();
    }
    const ok = status >= 200 && status < 300;
    logger.info('webhook delivery', { webhookId: endpoint.id, eventId: seq, paymentId: item.paymentId, attempt: item.attempts + 1, status, ms: Date.now() - started });
    return ok ? 'done' : { retry: `webhook ${endpoint.id}: HTTP ${status}` };
  };
}
