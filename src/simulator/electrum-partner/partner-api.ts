import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { basicAuthMatches } from '../../electrum/basic-auth.js';
import {
  paymentConfirmationSchema,
  paymentRequestSchema,
  paymentReversalSchema,
  type ErrorType,
  type PaymentRequest,
  type PaymentResponse,
} from '../../electrum/schemas.js';
import { electrumTime, errorDetail, formatErrorFromZod, toWire } from '../../electrum/serialize.js';
import type { Logger } from '../../shared/logger.js';
import type { TimerSet } from '../partpay/timers.js';
import type { ElectrumPartnerFaultState } from './faults.js';
import type { ElectrumPartnerSimulatorOptions } from './options.js';
import type { PartnerLedger, PartnerPayment, ReceivedMessage } from './partner-ledger.js';

/** Counters the partner API moves; read by `stats()`. */
export interface PartnerApiCounters {
  unauthorized: number;
  approved: number;
  declined: number;
  held: number;
  rejected: number;
}

export interface PartnerApiDeps {
  options: ElectrumPartnerSimulatorOptions;
  ledger: PartnerLedger;
  timers: TimerSet;
  /** Responses deliberately left unanswered; `close()` destroys their sockets. */
  held: Set<Response>;
  counters: PartnerApiCounters;
  logger: Logger;
  /** Injected faults (late, 500); none when absent. */
  faults?: ElectrumPartnerFaultState;
}

/**
 * The partner side of Electrum QR v1.7.0 under `/qr/v1`: `pay`, `confirmPayment` and
 * `reversePayment`, behind HTTP basic auth, answering with spec-shaped bodies.
 */
export function createPartnerApi(deps: PartnerApiDeps): Router {
  const { options, ledger, counters } = deps;
  const router = express.Router();

  function fail(res: Response, message: ReceivedMessage | null, status: number, errorType: ErrorType, errorMessage: string, extra: { tranId?: string; originalId?: string } = {}): void {
    const body = errorDetail({ errorType, errorMessage, ...extra });
    if (message) reply(res, message, status, body);
    else res.status(status).json(body);
  }

  router.use((req, res, next) => {
    if (basicAuthMatches(req.get('authorization'), options.expects)) return next();
    counters.unauthorized += 1;
    res.set('www-authenticate', 'Basic realm="electrum-partner", charset="UTF-8"');
    res.status(401).json(errorDetail({ errorType: 'GENERAL_ERROR', errorMessage: 'Unauthorized' }));
  });
  router.use(express.json({ limit: '64kb' }));

  router.post('/payments', (req, res) => {
    const message = ledger.record('payments', req.body);
    const parsed = paymentRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      counters.rejected += 1;
      reply(res, message, 400, formatErrorFromZod(parsed.error));
      return;
    }
    const request = parsed.data;
    const reject = (status: number, type: ErrorType, text: string) => {
      counters.rejected += 1;
      fail(res, message, status, type, text, { tranId: request.tranId });
    };
    if (ledger.payment(request.id)) return reject(400, 'DUPLICATE_RECORD', 'Duplicate payment request id');
    const amount = request.amounts.requestAmount;
    if (!amount || amount.amount <= 0) return reject(400, 'INVALID_AMOUNT', 'A positive requestAmount is required');
    if (request.partner && request.partner.id !== options.partnerId) return reject(400, 'ROUTING_ERROR', 'Payment routed to the wrong partner');
    if (options.behaviour.requireKnownTranId) {
      const token = ledger.scanToken(request.tranId);
      if (token === undefined) return reject(400, 'INVALID_TRAN_ID', 'No scan for this tranId');
      if (token !== null && request.partnerPaymentToken !== token) return reject(400, 'INVALID_TRAN_ID', 'Payment token does not match the scan');
    }

    const faults = deps.faults;
    const cents = amount.amount % 100;
    const approvable = (requested: number): number => (options.behaviour.partialApprovalCents.includes(cents) ? Math.floor(requested / 2) : requested);
    const verdict = (): 'approved' | 'declined' => (options.behaviour.declineCents.includes(cents) ? 'declined' : 'approved');
    if (faults?.dice.roll('pay.error500', faults.options.error500)) {
      // Half the time the payment went through before the error: only a reversal undoes it.
      if (faults.dice.between('pay.error500', 0, 1) === 1) {
        const state = verdict();
        counters[state] += 1;
        ledger.addPayment({ requestId: request.id, tranId: request.tranId, amountMinor: amount.amount, currency: amount.currency, receivedAt: message.time, state, approvedMinor: state === 'approved' ? approvable(amount.amount) : null, finalMinor: null, status: 500, request });
      }
      return fail(res, message, 500, 'GENERAL_ERROR', 'Internal error (simulated fault)', { tranId: request.tranId });
    }
    const payment: PartnerPayment = {
      requestId: request.id,
      tranId: request.tranId,
      amountMinor: amount.amount,
      currency: amount.currency,
      receivedAt: message.time,
      state: 'pending',
      approvedMinor: null,
      finalMinor: null,
      status: null,
      request,
    };
    ledger.addPayment(payment);
    if (options.behaviour.noAnswerCents.includes(cents)) {
      // The timeout case: never answer; close() destroys the socket.
      counters.held += 1;
      deps.held.add(res);
      res.on('close', () => deps.held.delete(res));
      deps.logger.debug('holding payment without an answer', { requestId: request.id });
      return;
    }
    const decide = () => {
      const state = verdict();
      counters[state] += 1;
      payment.state = state;
      payment.approvedMinor = state === 'approved' ? approvable(amount.amount) : null;
      payment.status = state === 'declined' ? 400 : 201;
    };
    const respond = () => {
      if (res.writableEnded || res.destroyed) return;
      if (payment.status === 400) return fail(res, message, 400, 'DECLINED_BY_PARTNER', 'Declined by the customer', { tranId: request.tranId });
      reply(res, message, 201, paymentResponse(request, options, payment.approvedMinor ?? amount.amount));
    };
    if (faults?.dice.roll('pay.late', faults.options.late)) {
      // Decided now, told too late: the intermediate has given up and must reverse.
      decide();
      deps.timers.after(faults.options.lateMs, respond);
      return;
    }
    const answer = () => {
      if (res.writableEnded || res.destroyed) return;
      decide();
      respond();
    };
    if (options.behaviour.responseDelayMs > 0) deps.timers.after(options.behaviour.responseDelayMs, answer);
    else answer();
  });

  router.post('/payments/confirmations', (req, res) => {
    const message = ledger.record('confirmations', req.body);
    if (deps.faults?.dice.roll('confirmations.error500', deps.faults.options.error500)) return fail(res, message, 500, 'GENERAL_ERROR', 'Internal error (simulated fault)');
    if (deps.faults?.dice.roll('confirmations.busy', deps.faults.options.busy)) return fail(res, message, 503, 'UPSTREAM_UNAVAILABLE', 'Busy (simulated fault)');
    const parsed = paymentConfirmationSchema.safeParse(req.body);
    if (!parsed.success) return void answerInvalid(res, message, parsed.error, req.body);
    const advice = parsed.data;
    const answered = remembered(res, message, 'confirmations', advice.id);
    if (answered) return;
    const payment = ledger.payment(advice.requestId);
    const answer = (status: number, body: unknown) => {
      ledger.remember('confirmations', advice.id, { status, body });
      reply(res, message, status, body);
    };
    const error = (status: number, type: ErrorType, text: string) => answer(status, errorDetail({ errorType: type, errorMessage: text, originalId: advice.requestId, ...(advice.tranId === undefined ? {} : { tranId: advice.tranId }) }));
    if (!payment) return error(404, 'UNABLE_TO_LOCATE_RECORD', 'No payment with this requestId');
    if (payment.state === 'reversed') return error(400, 'GENERAL_ERROR', 'Payment already reversed');
    if (payment.state === 'declined') return error(400, 'GENERAL_ERROR', 'Payment was declined');
    if (payment.state === 'pending') return error(400, 'GENERAL_ERROR', 'Payment was never approved');
    const final = advice.amounts?.approvedAmount?.amount;
    if (final !== undefined && final > (payment.approvedMinor ?? 0)) return error(400, 'INVALID_AMOUNT', 'Final amount exceeds the approval');
    payment.state = 'confirmed';
    payment.finalMinor = final ?? null;
    answer(202, toWire(advice));
  });

  router.post('/payments/reversals', (req, res) => {
    const message = ledger.record('reversals', req.body);
    if (deps.faults?.dice.roll('reversals.error500', deps.faults.options.error500)) return fail(res, message, 500, 'GENERAL_ERROR', 'Internal error (simulated fault)');
    if (deps.faults?.dice.roll('reversals.busy', deps.faults.options.busy)) return fail(res, message, 503, 'UPSTREAM_UNAVAILABLE', 'Busy (simulated fault)');
    const parsed = paymentReversalSchema.safeParse(req.body);
    if (!parsed.success) return void answerInvalid(res, message, parsed.error, req.body);
    const advice = parsed.data;
    if (remembered(res, message, 'reversals', advice.id)) return;
    const payment = ledger.payment(advice.requestId);
    const answer = (status: number, body: unknown) => {
      ledger.remember('reversals', advice.id, { status, body });
      reply(res, message, status, body);
    };
    const error = (status: number, type: ErrorType, text: string) => answer(status, errorDetail({ errorType: type, errorMessage: text, originalId: advice.requestId, ...(advice.tranId === undefined ? {} : { tranId: advice.tranId }) }));
    if (!payment) return error(404, 'UNABLE_TO_LOCATE_RECORD', 'No payment with this requestId');
    if (payment.state === 'confirmed') return error(400, 'ACCOUNT_ALREADY_SETTLED', 'Payment already confirmed');
    const final = advice.amounts?.approvedAmount?.amount;
    if (final !== undefined && payment.approvedMinor !== null && final > payment.approvedMinor) return error(400, 'INVALID_AMOUNT', 'Final amount exceeds the approval');
    if (payment.state !== 'declined') {
      payment.state = 'reversed';
      payment.finalMinor = final ?? null;
    }
    answer(202, toWire(advice));
  });

  /** Replays the stored answer of a repeated advice (store-and-forward retry). */
  function remembered(res: Response, message: ReceivedMessage, kind: 'confirmations' | 'reversals', adviceId: string): boolean {
    const previous = ledger.answer(kind, adviceId);
    if (!previous) return false;
    reply(res, message, previous.status, previous.body);
    return true;
  }

  function answerInvalid(res: Response, message: ReceivedMessage, error: Parameters<typeof formatErrorFromZod>[0], body: unknown): void {
    const requestId = typeof body === 'object' && body !== null && 'requestId' in body && typeof body.requestId === 'string' ? body.requestId : undefined;
    counters.rejected += 1;
    reply(res, message, 400, formatErrorFromZod(error, requestId === undefined ? {} : { originalId: requestId }));
  }

  /** Answers `message`, keeping the status and body on it (what the intermediate was told). */
  function reply(res: Response, message: ReceivedMessage, status: number, body: unknown): void {
    message.status = status;
    message.answer = body;
    res.status(status).json(body);
  }

  router.use((_req, res) => {
    res.status(404).json(errorDetail({ errorType: 'FUNCTION_NOT_SUPPORTED', errorMessage: 'No such operation on this partner' }));
  });
  // Body-parser errors (malformed JSON, too large) carry their status.
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status >= 500) deps.logger.error('partner simulator error', { error: err instanceof Error ? err.message : String(err) });
    res.status(status).json(errorDetail({ errorType: status >= 500 ? 'GENERAL_ERROR' : 'FORMAT_ERROR', errorMessage: status >= 500 ? 'Internal error' : 'Malformed JSON body' }));
  });
  return router;
}

/** The partner's 201 answer: echoes the request and adds the partner, its own id and the approved amount. */
export function paymentResponse(request: PaymentRequest, options: ElectrumPartnerSimulatorOptions, approvedMinor?: number): PaymentResponse {
  const requested = request.amounts.requestAmount;
  const amount = requested && approvedMinor !== undefined ? { ...requested, amount: approvedMinor } : requested;
  const response: PaymentResponse = {
    id: request.id,
    time: electrumTime(),
    originator: request.originator,
    client: request.client,
    partner: { id: options.partnerId, name: options.partnerName },
    // Identifiers of other institutions are echoed unaltered; ours is added once (it may
    // already be there when the intermediate forwarded the scan's identifiers).
    thirdPartyIdentifiers: request.thirdPartyIdentifiers.some((t) => t.institutionId === options.partnerId)
      ? request.thirdPartyIdentifiers
      : [...request.thirdPartyIdentifiers, { institutionId: options.partnerId, transactionIdentifier: randomUUID() }],
    amounts: { ...request.amounts, ...(amount ? { approvedAmount: amount } : {}) },
    tranId: request.tranId,
    ...(amount ? { tenders: [{ tenderType: 'WALLET' as const, amount, reference: `${options.partnerId} wallet`.slice(0, 40) }] } : {}),
  };
  for (const key of ['settlementEntity', 'receiver', 'slipData', 'basketRef', 'tranType', 'srcAccType', 'destAccType', 'stan', 'rrn', 'partnerPaymentToken'] as const) {
    if (request[key] !== undefined) Object.assign(response, { [key]: request[key] });
  }
  return toWire(response);
}
