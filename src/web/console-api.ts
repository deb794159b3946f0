import express, { type Router } from 'express';
import { isOpen } from '../payments/state-machine.js';
import { reportCsv } from '../reports/report-csv.js';
import { toCsv } from '../shared/csv.js';
import { NotFoundError, ConflictError, UnsupportedMediaTypeError } from '../shared/errors.js';
import { parseOr400 } from '../shared/http/validate.js';
import { consoleEvent, consoleOutboxItem, consolePayment, consoleRefund, localDate, localDayBounds, sumMetrics, timeBound } from './console-views.js';
import { outboxIdParam, outboxQuery, paymentIdParam, paymentListQuery, reportQuery, resolveBody, type PaymentListQuery } from './console-schemas.js';
import { streamConsoleEvents } from './console-events.js';
import type { WebDeps } from './deps.js';
import type { SessionStore } from './sessions.js';
import { currentOperator, sameOriginWrites } from './operator-auth.js';

const STUCK_AFTER_MS = 15 * 60_000;
const METRICS = ['tenderbridge_partpay_callbacks_total', 'tenderbridge_partpay_call_errors_total', 'tenderbridge_partpay_token_failures', 'tenderbridge_payments_resolved_total'] as const;

/**
 * The console's JSON API (mounted behind operator auth at /console/api): payments with
 * filters, a payment's journal, operator resolutions, the outbox and its dead letters,
 * health at a glance and end-of-day figures, with CSV exports, and the live event stream.
 * Errors are thrown.
 */
export function consoleApi(deps: WebDeps & { sessions: SessionStore }): Router {
  const router = express.Router();
  router.use(sameOriginWrites);
  router.use((req, _res, next) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/json')) throw new UnsupportedMediaTypeError('Content-Type must be application/json');
    if (req.method === 'POST' && !req.is('application/json')) throw new UnsupportedMediaTypeError('send a JSON body with Content-Type: application/json');
    next();
  });
  router.use(express.json({ limit: '16kb', strict: true }));

  async function listPayments(q: PaymentListQuery) {
    const limit = q.limit ?? 100;
    const narrowedInMemory = q.provider !== undefined || q.state === 'open';
    const rows = await deps.payments.list({
      state: q.state === 'open' ? undefined : q.state,
      storeId: q.store,
      terminalId: q.terminal,
      attention: q.attention,
      from: q.from === undefined ? undefined : timeBound(q.from, 'from'),
      to: q.to === undefined ? undefined : timeBound(q.to, 'to'),
      // Provider and "open" are narrowed here, so read further back first.
      limit: narrowedInMemory ? 1000 : limit,
    });
    return rows.filter((p) => (q.provider === undefined || p.provider === q.provider) && (q.state !== 'open' || isOpen(p.state))).slice(0, limit);
  }

  router.get('/whoami', (_req, res) => {
    res.json({ operator: currentOperator(res) });
  });

  router.get('/events', (req, res) => streamConsoleEvents(req, res, deps));

  router.get('/payments', async (req, res) => {
    const q = parseOr400(paymentListQuery, req.query, 'query');
    const payments = await listPayments(q);
    res.json({ payments: await Promise.all(payments.map(async (p) => consolePayment(p, await deps.detail(p)))) });
  });

  router.get('/payments.csv', async (req, res) => {
    const q = parseOr400(paymentListQuery, req.query, 'query');
    const rows = (await listPayments({ ...q, limit: q.limit ?? 500 })).map((p) => [p.createdAt ? new Date(p.createdAt).toISOString() : '', p.id, p.provider, p.storeId, p.terminalId, p.merchantReference, p.amountMinor, p.currency, p.state, p.refundedMinor, p.attention ?? '', p.upstreamOrderNumber ?? '']);
    const csv = toCsv(rows, ['created_at', 'id', 'provider', 'store', 'terminal', 'merchant_reference', 'amount_minor', 'currency', 'state', 'refunded_minor', 'attention', 'order_number']);
    res.type('text/csv').attachment(`payments-${localDate(deps.clock())}.csv`).send(csv);
  });

  router.get('/payments/:id', async (req, res) => {
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    const payment = await deps.payments.get(id);
    if (!payment) throw new NotFoundError(`no payment ${id}`);
    const [detail, events, refunds, outbox] = await Promise.all([deps.detail(payment), deps.payments.events(id), deps.payments.refundsOf(id), deps.outbox.ofPayment(id)]);
    res.json({
      payment: consolePayment(payment, detail),
      events: events.map(consoleEvent),
      refunds: refunds.map(consoleRefund),
      outbox: outbox.map(consoleOutboxItem),
    });
  });

  router.post('/payments/:id/resolve', async (req, res) => {
    const { id } = parseOr400(paymentIdParam, req.params, 'path');
    const body = parseOr400(resolveBody, req.body ?? {}, 'body');
    const by = currentOperator(res);
    const outcome = await deps.operator.resolve(id, { action: body.action, by, reason: body.reason });
    deps.logger.info('operator resolved a payment', { paymentId: id, action: body.action, result: outcome.result, operator: by });
    res.json({ action: outcome.action, result: outcome.result, payment: consolePayment(outcome.payment, await deps.detail(outcome.payment)), refund: outcome.refund ? consoleRefund(outcome.refund) : null });
  });

  router.get('/outbox', async (req, res) => {
    const q = parseOr400(outboxQuery, req.query, 'query');
    const states = q.state ? [q.state] : (['dead', 'pending'] as const);
    const [lists, stats] = await Promise.all([Promise.all(states.map((s) => deps.outbox.list(s, q.limit ?? 100))), deps.outbox.stats()]);
    res.json({ items: lists.flat().map(consoleOutboxItem), stats });
  });

  router.post('/outbox/:id/retry', async (req, res) => {
    const { id } = parseOr400(outboxIdParam, req.params, 'path');
    const item = await deps.outbox.get(id);
    if (!item) throw new NotFoundError(`no outbox item ${id}`);
    if (!(await deps.outbox.revive(id, deps.clock()))) throw new ConflictError('not_dead', `outbox item ${id} is ${item.state}: only dead letters can be retried`);
    deps.logger.info('operator retried a dead letter', { outboxId: id, kind: item.kind, operator: currentOperator(res) });
    deps.kickOutbox();
    res.json({ item: consoleOutboxItem((await deps.outbox.get(id)) ?? item) });
  });

  router.get('/overview', async (_req, res) => {
    const now = deps.clock();
    const [outbox, counts] = await Promise.all([deps.outbox.stats(), deps.payments.counts()]);
    const oldestAgeSeconds = outbox.oldestPendingAt === null ? 0 : Math.round((now - outbox.oldestPendingAt) / 1000);
    // Counted by index: reading the newest 1,000 rows cost seconds on a big file and missed older open ones.
    const { open, attention } = counts;
    const metrics = sumMetrics((await deps.metrics.render()).body, METRICS);
    const problems = [
      ...(outbox.dead > 0 ? [`${outbox.dead} dead letter(s) in the outbox`] : []),
      ...(oldestAgeSeconds * 1000 > STUCK_AFTER_MS ? [`the oldest owed delivery has waited ${Math.round(oldestAgeSeconds / 60)} min`] : []),
      ...(attention > 0 ? [`${attention} payment(s) need attention`] : []),
    ];
    const today = await deps.report(localDayBounds(localDate(now)));
    res.json({
      status: problems.length === 0 ? 'ok' : 'attention',
      problems,
      time: new Date(now).toISOString(),
      uptimeSeconds: Math.round(process.uptime()),
      payments: { open, attention },
      outbox: { pending: outbox.pending, dead: outbox.dead, oldestPendingAgeSeconds: oldestAgeSeconds },
      today: today.totals,
      metrics: {
        callbacks: metrics['tenderbridge_partpay_callbacks_total'],
        partpayCallErrors: metrics['tenderbridge_partpay_call_errors_total'],
        tokenFailures: metrics['tenderbridge_partpay_token_failures'],
        paymentsResolved: metrics['tenderbridge_payments_resolved_total'],
      },
    });
  });

  router.get('/report', async (req, res) => {
    const q = parseOr400(reportQuery, req.query, 'query');
    const date = q.date ?? localDate(deps.clock());
    res.json({ date, ...(await deps.report(localDayBounds(date))) });
  });

  router.get('/report.csv', async (req, res) => {
    const q = parseOr400(reportQuery, req.query, 'query');
    const date = q.date ?? localDate(deps.clock());
    res.type('text/csv').attachment(`report-${date}.csv`).send(reportCsv(await deps.report(localDayBounds(date))));
  });

  return router;
}
