import express, { type Request, type Response, type Router } from 'express';
import type { PaymentService } from '../payments/service.js';
import type { PaymentQr } from '../payments/payment-qr.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { Port } from '../storage/port.js';
import type { PaymentEvents } from '../payments/events.js';
import type { BuildInfo } from '../ops/build-info.js';
import type { RegistryView } from '../registry/registry.js';
import type { GroupCommit } from '../shared/db/group-commit.js';
import type { Logger } from '../shared/logger.js';
import { applyOverrides, parseProfileOverrides } from '../qr/display-profile.js';
import { invalidImage } from '../qr/image-input.js';
import { isFinal } from '../payments/state-machine.js';
import { NotFoundError, UpstreamError } from '../shared/errors.js';
import type { ElectrumRepository } from '../electrum/repository.js';
import { corsFor } from '../shared/http/cors.js';
import { parseOr400 } from '../shared/http/validate.js';
import { currentTerminal, requireJson, terminalAuth } from './auth.js';
import { presenterOf, presentRefund, type ProviderDetail } from './presenter.js';
import { refundIdParam, type PaymentListJson, type RefundListJson } from './till-schemas.js';
import { resumePoint, streamTerminalEvents } from './terminal-stream.js';
import { tranIdParam, cancelBody, createPaymentBody, getPaymentQuery, idempotencyKeyHeader, listPaymentsQuery, paymentIdParam, refundBody } from './schemas.js';
import { streamPaymentEvents, type SseRegistry } from './sse.js';
import { terminalApiDocument } from './openapi.js';
import type { QrTextJson, RefundDeclinedJson, TerminalJson } from './response-schemas.js';

/** Sends a rendered QR with its ETag, answering 304 when the terminal already has it. */
function sendImage(req: Request, res: Response, qr: { etag: string; contentType: string; body: Buffer }): void {
  res.setHeader('ETag', qr.etag);
  res.setHeader('Cache-Control', 'private, max-age=300');
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  res.type(qr.contentType).send(qr.body);
}

export interface TerminalRoutesDeps {
  registry: RegistryView;
  service: PaymentService;
  /** The payments, through the storage port. */
  payments: Pick<Port<PaymentRepository>, 'get' | 'getRefund' | 'refundsOf' | 'lastSeq' | 'terminalChanges' | 'stateChangesAfter'>;
  events: PaymentEvents;
  qr: PaymentQr;
  sse: SseRegistry;
  /** Electrum QR codes, so a terminal can fetch one it was issued as an image. */
  electrumQr: Pick<Port<ElectrumRepository>, 'qr'>;
  bodyLimit: string;
  maxWaitSeconds: number;
  /** The provider's own facts of a payment, shown under its name. */
  detail: ProviderDetail;
  /** The database's group commit, so the terminal's event stream reads committed writes only. */
  durable?: Pick<GroupCommit, 'pending' | 'settled'> | undefined;
  /** Where a stream that could not read says so (default: nowhere). */
  logger?: Logger;
  /** Browser-based tills on other origins (`server.cors`); none listed: no cross-origin access. */
  cors?: { origins: readonly string[]; maxAgeSeconds: number };
  /** Which tenderbridge this is, told on GET /v1/terminal. */
  build?: BuildInfo;
}

/**
 * The native terminal API under /v1: bearer key per terminal, and a terminal sees only its
 * own payments (another terminal's id answers 404, as if it did not exist).
 */
export function terminalRoutes(deps: TerminalRoutesDeps): Router {
  const router = express.Router();
  const present = presenterOf(deps.detail, deps.payments);
  // Before authentication: a preflight carries no credentials.
  const crossOrigin = deps.cors ? corsFor(deps.cors) : null;
  if (crossOrigin) router.use(crossOrigin);
  router.use(terminalAuth(deps.registry));
  router.use(requireJson, express.json({ limit: deps.bodyLimit, strict: true }));

  // The contract, behind the terminal key like every /v1 route (README "API contract").
  router.get('/openapi.json', (_req, res) => void res.json(terminalApiDocument(deps.build?.version ?? '0.0.0')));

  router.get('/terminal', (_req, res) => {
    const t = currentTerminal(res);
    res.json({ id: t.id, storeId: t.storeId, merchantId: t.merchantId, displayProfile: t.displayProfile, tenderbridge: deps.build ? { version: deps.build.version, commit: deps.build.commit } : null } satisfies TerminalJson);
  });

  router.post('/payments', async (req, res) => {
    const terminal = currentTerminal(res);
    const key = parseOr400(idempotencyKeyHeader, req.get('idempotency-key'), 'header', 'Idempotency-Key');
    const body = parseOr400(createPaymentBody, req.body ?? {}, 'body');
    const { payment, replayed } = await deps.service.create(terminal, { amountMinor: body.amountMinor, currency: body.currency, merchantReference: body.merchantReference }, key);
    if (payment.state === 'failed') {
      const code = (payment.errorCode ?? 'upstream_unavailable') as ConstructorParameters<typeof UpstreamError>[0];
      const known = ['upstream_rejected', 'upstream_unavailable', 'upstream_timeout', 'upstream_invalid_response'].includes(code);
      throw new UpstreamError(known ? code : 'upstream_unavailable', `PartPay did not create the order: ${payment.errorMessage ?? 'unknown error'}`, {
        retryable: false,
        details: { paymentId: payment.id, state: payment.state, hint: 'create a new payment with a new Idempotency-Key to try again' },
      });
    }
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(replayed ? 200 : 201).location(`/v1/payments/${payment.id}`).json(await present(payment));
  });

  router.get('/payments', async (req, res) => {
    const terminal = currentTerminal(res);
    const q = parseOr400(listPaymentsQuery, req.query, 'query');
    const page = await deps.service.page(terminal, { startingAfter: q.starting_after, state: q.state, merchantReference: q.merchantReference, createdGte: q.created_gte, createdLt: q.created_lt, limit: q.limit });
    const data = await Promise.all(page.payments.map(present));
    res.json({ data, has_more: page.hasMore, payments: data } satisfies PaymentListJson);
  });

  // Every change of every payment of this terminal, from the journal (resumable with Last-Event-ID).
  router.get('/events', async (req, res) => {
    const terminal = currentTerminal(res);
    const from = await resumePoint(req, deps.payments);
    streamTerminalEvents(res, terminal, from, { payments: deps.payments, events: deps.events, sse: deps.sse, present, durable: deps.durable, logger: deps.logger });
  });

  router.get('/payments/:id', async (req, res) => {
    const terminal = currentTerminal(res);
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    const q = parseOr400(getPaymentQuery, req.query, 'query');
    const current = await deps.service.get(terminal, id);
    // Without a version, a final payment answers at once (nothing more will happen to it).
    if (!q.wait || (q.version === undefined && isFinal(current.state))) {
      res.json(await present(current));
      return;
    }
    const abort = new AbortController();
    // Only a terminal gone before its answer ends the wait; aborting after every answer (an
    // AbortError built and sent down the combined signals) cost a measurable share of a flow.
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const waitMs = Math.min(q.wait, deps.maxWaitSeconds) * 1000;
    const payment = await deps.sse.whileOpen(abort.signal, (signal) => deps.service.waitForChange(terminal, id, q.version ?? current.version, waitMs, signal));
    if (res.writableEnded) return;
    const json = await present(payment);
    if (!res.writableEnded) res.json(json);
  });

  router.get('/payments/:id/events', async (req, res) => {
    const terminal = currentTerminal(res);
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    const payment = await deps.service.get(terminal, id);
    await streamPaymentEvents(req, res, payment, { payments: deps.payments, events: deps.events, sse: deps.sse, present, logger: deps.logger });
  });

  router.get('/payments/:id/qr', async (req, res) => {
    const terminal = currentTerminal(res);
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    const profile = applyOverrides(terminal.displayProfile, parseProfileOverrides(req.query));
    const payment = await deps.service.get(terminal, id);
    const qr = await deps.qr.get(payment, profile);
    sendImage(req, res, qr);
  });

  // The text inside the payment's QR, for terminals that draw their own code. Read from the
  // image on the first ask only (the image route never reads it), then kept on the payment.
  router.get('/payments/:id/qr/text', async (req, res) => {
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    const payment = await deps.service.get(currentTerminal(res), id);
    const text = await deps.qr.readText(payment);
    if (text === null) throw invalidImage('holds no readable QR code');
    res.json({ text } satisfies QrTextJson);
  });

  // An Electrum QR code issued to this terminal (createQrCode), as an image in its display profile.
  router.get('/qr-codes/:tranId', async (req, res) => {
    const terminal = currentTerminal(res);
    const { tranId } = parseOr400(tranIdParam, req.params, 'path');
    const profile = applyOverrides(terminal.displayProfile, parseProfileOverrides(req.query));
    const code = await deps.electrumQr.qr(tranId);
    if (!code || code.terminalId !== terminal.id) throw new NotFoundError(`no QR code ${tranId} for terminal ${terminal.id}`);
    const qr = await deps.qr.renderText(`electrum:${tranId}`, code.qrCode, profile);
    sendImage(req, res, qr);
  });

  router.post('/payments/:id/cancel', async (req, res) => {
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    parseOr400(cancelBody, req.body ?? {}, 'body');
    res.json(await present(await deps.service.cancel(currentTerminal(res), id)));
  });

  router.post('/payments/:id/refunds', async (req, res) => {
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    const key = parseOr400(idempotencyKeyHeader, req.get('idempotency-key'), 'header', 'Idempotency-Key');
    const body = parseOr400(refundBody, req.body ?? {}, 'body');
    const { payment, refund } = await deps.service.refund(currentTerminal(res), id, { amountMinor: body.amountMinor, reason: body.reason }, key);
    if (refund.state === 'failed') {
      res.status(409).json({ error: { code: 'refund_declined', retryable: false, message: `the refund was not made: ${refund.errorMessage ?? 'declined upstream'}` }, refund: presentRefund(refund), payment: await present(payment) } satisfies RefundDeclinedJson);
      return;
    }
    res.status(refund.state === 'succeeded' ? 201 : 202).location(`/v1/refunds/${refund.id}`).json({ refund: presentRefund(refund), payment: await present(payment) });
  });

  router.get('/payments/:id/refunds', async (req, res) => {
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    res.json({ data: (await deps.service.refundsOf(currentTerminal(res), id)).map(presentRefund), has_more: false } satisfies RefundListJson);
  });

  router.get('/refunds/:id', async (req, res) => {
    const { id } = parseOr400(refundIdParam, req.params, 'path');
    res.json(presentRefund(await deps.service.getRefund(currentTerminal(res), id)));
  });

  return router;
}
