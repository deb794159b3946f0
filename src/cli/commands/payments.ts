import { Option, type Command } from 'commander';
import { OPERATOR_ACTIONS, type OperatorAction } from '../../payments/operator.js';
import { settledMinor } from '../../payments/state-machine.js';
import { PAYMENT_STATES } from '../../payments/state-machine.js';
import type { Payment } from '../../payments/types.js';
import { action, type CliContext } from '../context.js';
import { parseDateBound } from '../dates.js';
import { CliError, EXIT, usageError, type CliIo } from '../io.js';
import { formatTime, money, renderJson, renderPairs, renderTable } from '../output.js';
import { cliOperator } from '../wiring.js';

interface ListOptions {
  state?: string;
  store?: string;
  terminal?: string;
  from?: string;
  to?: string;
  attention?: boolean;
  limit: string;
}

function paymentPairs(p: Payment): Array<[string, string | number | null]> {
  return [
    ['id', p.id],
    ['state', p.state],
    ['attention', p.attention],
    ['amount', money(p.amountMinor, p.currency)],
    ['refunded', money(p.refundedMinor, p.currency)],
    ['merchant reference', p.merchantReference],
    ['terminal / store / merchant', `${p.terminalId} / ${p.storeId} / ${p.merchantId}`],
    ...((p.provider === 'partpay'
      ? [
          ['PartPay order', p.upstreamOrderId ? `${p.upstreamOrderId} (${p.upstreamOrderNumber ?? 'no number'})` : null],
          ['PartPay status (last asked)', p.upstreamStatus],
        ]
      : [['Electrum request (the partner knows it by)', p.upstreamOrderId]]) as Array<[string, string | null]>),
    ['approved / charged now', p.approvedMinor === null ? null : `${money(p.approvedMinor, p.currency)} / ${money(settledMinor(p), p.currency)}`],
    ['error', p.errorCode ? `${p.errorCode}: ${p.errorMessage ?? ''}` : null],
    ['created', formatTime(p.createdAt)],
    ['expires', formatTime(p.expiresAt)],
    ['final', p.finalAt === null ? null : `${formatTime(p.finalAt)} by ${p.resolvedBy ?? 'unknown'}`],
    ['version', p.version],
  ];
}

async function show(ctx: CliContext, id: string): Promise<number> {
  const { repos } = (await ctx.openStore({ readonly: true })).store;
  const payments = repos.payments;
  let payment = (await payments.get(id)) ?? (await payments.getByOrderId(id, 'partpay'));
  if (!payment) {
    // An Electrum id: as the partner knows it, as the POS sent it (a partner may know that payment
    // by one of ours), or the QR code's tranId. POS clients choose ids apart, so one may name several.
    const named = new Set([(await payments.getByOrderId(id, 'electrum'))?.id, ...(await repos.electrum.paymentIdsNamed(id))].filter((p) => p !== undefined));
    if (named.size > 1) throw new CliError(`${id} names ${named.size} Electrum payments (POS clients chose the same id): ${[...named].join(', ')}; show one by its payment id`);
    const [only] = named;
    payment = only === undefined ? null : await payments.get(only);
  }
  if (!payment) throw new CliError(`no payment ${id} (give our payment id, the PartPay order id, the Electrum request id as the POS or the partner knows it, or the tranId)`);
  const events = await payments.events(payment.id);
  const refunds = await payments.refundsOf(payment.id);
  const outbox = await repos.outbox.ofPayment(payment.id);
  if (ctx.json) {
    ctx.out(renderJson({ payment, events, refunds, outbox }));
    return EXIT.ok;
  }
  ctx.out(renderPairs(paymentPairs(payment)));
  ctx.out(`\nJournal (${events.length} entries, oldest first):\n`);
  ctx.out(
    renderTable(
      ['#', 'at', 'kind', 'actor', 'state', 'detail'],
      events.map((e) => [
        e.seq,
        formatTime(e.at),
        e.kind,
        e.actor,
        e.toState ? `${e.fromState ?? '-'} -> ${e.toState}` : '',
        [e.detail ? JSON.stringify(e.detail) : '', e.rawBody ? `raw body: ${e.rawBody}` : ''].filter(Boolean).join('\n'),
      ]),
    ),
  );
  if (refunds.length > 0) {
    ctx.out('\nRefunds:\n');
    ctx.out(renderTable(['id', 'amount', 'state', 'requested by', 'reason', 'PartPay refund', 'error', 'created'], refunds.map((r) => [r.id, money(r.amountMinor, payment.currency), r.state, r.requestedBy, r.reason, r.upstreamRefundId, r.errorMessage, formatTime(r.createdAt)])));
  }
  if (outbox.length > 0) {
    ctx.out('\nOwed deliveries (outbox):\n');
    ctx.out(renderTable(['id', 'kind', 'payload', 'state', 'attempts', 'next attempt', 'last error'], outbox.map((o) => [o.id, o.kind, JSON.stringify(o.payload), o.state, o.attempts, o.state === 'pending' ? formatTime(o.nextAttemptAt) : '', o.lastError])));
  }
  return EXIT.ok;
}

async function list(ctx: CliContext, opts: ListOptions): Promise<number> {
  if (!/^\d+$/.test(opts.limit) || Number(opts.limit) < 1 || Number(opts.limit) > 1000) throw usageError('--limit must be a whole number from 1 to 1000');
  const from = opts.from === undefined ? undefined : parseDateBound(opts.from, 'from');
  const to = opts.to === undefined ? undefined : parseDateBound(opts.to, 'to');
  const payments = (await ctx.openStore({ readonly: true })).store.repos.payments;
  const rows = await payments.list({ state: opts.state, storeId: opts.store, terminalId: opts.terminal, attention: opts.attention, from, to, limit: Number(opts.limit) });
  if (ctx.json) {
    ctx.out(renderJson({ payments: rows }));
    return EXIT.ok;
  }
  if (rows.length === 0) {
    ctx.out('no payments match\n');
    return EXIT.ok;
  }
  ctx.out(
    renderTable(
      ['created', 'id', 'terminal', 'store', 'amount', 'state', 'refunded', 'attention', 'reference', 'PartPay order'],
      rows.map((p) => [formatTime(p.createdAt), p.id, p.terminalId, p.storeId, money(p.amountMinor, p.currency), p.state, p.refundedMinor ? money(p.refundedMinor, p.currency) : '', p.attention, p.merchantReference, p.upstreamOrderNumber]),
    ),
  );
  ctx.out(`${rows.length} payment(s), newest first${rows.length === Number(opts.limit) ? ` (limit ${opts.limit} reached: use --limit or narrow the filters)` : ''}\n`);
  return EXIT.ok;
}

async function resolve(ctx: CliContext, id: string, opts: { action: OperatorAction; by: string; reason: string; defer?: boolean }): Promise<number> {
  const { operator, providers } = await cliOperator(ctx);
  const outcome = await operator.resolve(id, { action: opts.action, by: opts.by, reason: opts.reason, deferUpstream: opts.defer === true });
  if (ctx.json) {
    ctx.out(renderJson(outcome));
    return EXIT.ok;
  }
  const p = outcome.payment;
  const upstream = providers.of(p).label;
  const messages: Record<typeof outcome.result, string> = {
    refunded: `refunded ${money(outcome.refund?.amountMinor ?? 0, p.currency)} at ${upstream}`,
    refund_owed: `refund of ${money(outcome.refund?.amountMinor ?? 0, p.currency)} recorded; the running daemon delivers it to ${upstream} from its outbox`,
    cancelled: `cancelled at ${upstream}`,
    cancel_owed: `cancel recorded; the running daemon delivers it to ${upstream} from its outbox`,
    reviewed: 'marked reviewed',
  };
  ctx.out(`payment ${p.id}: ${messages[outcome.result]} (by ${opts.by}).\n`);
  ctx.out(`now ${p.state}${p.attention ? `, attention ${p.attention}` : ', no attention flag'}, refunded ${money(p.refundedMinor, p.currency)} of ${money(p.amountMinor, p.currency)}\n`);
  return EXIT.ok;
}

/** `tenderbridge payments list|show|resolve`. */
export function registerPaymentCommands(program: Command, io: CliIo): void {
  const payments = program.command('payments').description('find payments, read their journal, resolve those in doubt');

  payments
    .command('list')
    .description('list payments, newest first')
    .addOption(new Option('--state <state>', 'only this state ("final" for any final one)').choices([...PAYMENT_STATES, 'final']))
    .option('--store <id>', 'only this store')
    .option('--terminal <id>', 'only this terminal')
    .option('--from <date>', 'created at or after: YYYY-MM-DD (local day) or ISO timestamp')
    .option('--to <date>', 'created before; a YYYY-MM-DD day is included whole')
    .option('--attention', 'only payments flagged for an operator')
    .option('--limit <n>', 'at most this many (1-1000)', '50')
    .addHelpText('after', '\nExamples:\n  $ tenderbridge payments list --attention\n  $ tenderbridge payments list --store STORE001 --from 2026-03-01 --to 2026-03-01\n  $ tenderbridge payments list --state approved --terminal TERM0001 --limit 10 --json')
    .action(action(io, list));

  payments
    .command('show')
    .description('one payment with its whole journal (raw callback bodies included), refunds and owed deliveries')
    .argument('<id>', 'payment id, or PartPay order id')
    .addHelpText('after', '\nExamples:\n  $ tenderbridge payments show 6102cc0a-5d1e-4c59-9b0f-2a7c0b3a1d11\n  $ tenderbridge payments show 6102cc0a-5d1e-4c59-9b0f-2a7c0b3a1d11 --json | jq .events')
    .action(action(io, show));

  payments
    .command('resolve')
    .description('settle a payment in doubt (late approval, flagged, or still open): refund it, cancel it at PartPay, or mark it reviewed')
    .argument('<id>', 'payment id')
    .addOption(new Option('--action <action>', 'what to do').choices([...OPERATOR_ACTIONS]).makeOptionMandatory())
    .requiredOption('--by <name>', 'who decides (journaled)')
    .requiredOption('--reason <text>', 'why (journaled)')
    .option('--defer', "do not call PartPay now: leave the cancel or refund to the running daemon's outbox")
    .addHelpText(
      'after',
      `
refund         refunds what is still refundable (a paid payment, or one approved late)
cancel         cancels the order at PartPay (an open payment, or a late approval PartPay can still void)
mark-reviewed  clears the attention flag after the operator has dealt with it elsewhere

Examples:
  $ tenderbridge payments resolve 6102cc0a-… --action refund --by alice --reason "approved after the till cancelled"
  $ tenderbridge payments resolve 6102cc0a-… --action mark-reviewed --by bob --reason "refunded by PartPay support, ticket 4411"`,
    )
    .action(action(io, resolve));
}
