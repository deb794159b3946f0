import { FINAL_SQL, toEvent, toPayment, toRefund, type NewEvent, type NewPayment, type PaymentFilter, type PaymentPageQuery, type PaymentRepository } from '../../payments/repository.js';
import type { Patch } from '../../payments/state-machine.js';
import type { Payment } from '../../payments/types.js';
import type { Queryable } from '../../shared/db/postgres/pool.js';
import type { Port } from '../port.js';
import { all, one, run } from './sql.js';

/** The terminal stream's journal kinds (see TERMINAL_CHANGE_SQL in the SQLite repository), in PostgreSQL's JSON operators. */
const TERMINAL_CHANGE_PG = `(e.kind IN ('state_changed', 'refund_requested', 'refund_settled')
  OR (e.kind = 'upstream_error' AND (e.detail::jsonb ->> 'call') = 'refund' AND (e.detail::jsonb -> 'queued') IS NULL))`;

/** Numbered placeholders for a WHERE built clause by clause. */
function builder() {
  const args: unknown[] = [];
  return { args, arg: (value: unknown) => `$${args.push(value)}` };
}

/**
 * The payments repository on PostgreSQL: the same methods and answers as the SQLite one
 * (src/payments/repository.ts), on one connection or the pool (`q`).
 * `getForUpdate` locks the payment's row until the transaction ends: every read-modify-write
 * of a payment starts with it, so two daemons deciding about one payment take turns.
 * @example const payments = pgPaymentRepository(client); await payments.get(id);
 */
export function pgPaymentRepository(q: Queryable): Port<PaymentRepository> {
  const payment = async (sql: string, args: unknown[]): Promise<Payment | null> => {
    const r = await one(q, sql, args);
    return r ? toPayment(r) : null;
  };
  const horizon = { safe: 0 };
  return {
    async insert(p: NewPayment) {
      await run(
        q,
        `INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'created', $9, $9, $10)`,
        [p.id, p.provider, p.terminalId, p.storeId, p.merchantId, p.merchantReference, p.amountMinor, p.currency, p.createdAt, p.expiresAt],
      );
    },
    get: (id) => payment('SELECT * FROM payments WHERE id = $1', [id]),
    getForUpdate: (id) => payment('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [id]),
    getByOrderId: (orderId, provider) => payment('SELECT * FROM payments WHERE upstream_order_id = $1 AND provider = $2', [orderId, provider]),
    orderIdTaken: async (orderId) => (await one(q, 'SELECT 1 FROM payments WHERE upstream_order_id = $1', [orderId])) !== null,
    async applyPatch(current: Payment, patch: Patch, at: number, resolvedBy: string | null) {
      const next: Payment = { ...current, ...patch, version: current.version + 1, updatedAt: at } as Payment;
      if (patch.state && patch.state !== current.state && current.finalAt === null && patch.state !== 'awaiting_customer' && patch.state !== 'created') {
        next.finalAt = at;
        next.resolvedBy = resolvedBy;
      }
      const changed = await run(
        q,
        `UPDATE payments SET state = $1, version = $2, upstream_order_id = $3, upstream_order_number = $4, approved_minor = $5, refunded_minor = $6,
           attention = $7, error_code = $8, error_message = $9, resolved_by = $10, updated_at = $11, final_at = $12
         WHERE id = $13 AND version = $14`,
        [next.state, next.version, next.upstreamOrderId, next.upstreamOrderNumber, next.approvedMinor, next.refundedMinor, next.attention, next.errorCode, next.errorMessage, next.resolvedBy, next.updatedAt, next.finalAt, next.id, current.version],
      );
      if (changed !== 1) throw new Error(`payment ${current.id} changed concurrently`);
      return next;
    },
    async setQr(id, kind, data) {
      await run(q, 'UPDATE payments SET qr_kind = $1, qr_data = $2 WHERE id = $3', [kind, data, id]);
    },
    async setExpiresAt(id, at) {
      await run(q, 'UPDATE payments SET expires_at = $1 WHERE id = $2', [at, id]);
    },
    async setQrText(id, text) {
      await run(q, 'UPDATE payments SET qr_text = $1 WHERE id = $2 AND qr_text IS NULL', [text, id]);
    },
    async markChecked(id, at, upstreamStatus) {
      await run(q, 'UPDATE payments SET last_checked_at = $1, upstream_status = coalesce($2, upstream_status) WHERE id = $3', [at, upstreamStatus, id]);
    },
    async journal(e: NewEvent) {
      const r = await one(
        q,
        // The transaction takes its id before the entry takes its number (see lastSeq): the CTE is read before the row's default is.
        `WITH tx AS MATERIALIZED (SELECT pg_current_xact_id() AS id)
          INSERT INTO payment_events (payment_id, at, kind, actor, from_state, to_state, version, detail, raw_body)
          SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM tx RETURNING seq`,
        [e.paymentId, e.at, e.kind, e.actor, e.fromState ?? null, e.toState ?? null, e.version ?? null, e.detail ? JSON.stringify(e.detail) : null, e.rawBody ?? null],
      );
      return r?.['seq'] as number;
    },
    async events(paymentId, afterSeq = 0) {
      return (await all(q, 'SELECT * FROM payment_events WHERE payment_id = $1 AND seq > $2 ORDER BY seq', [paymentId, afterSeq])).map(toEvent);
    },
    async stateChangesAfter(paymentId, afterVersion) {
      return (await all(q, "SELECT * FROM payment_events WHERE payment_id = $1 AND kind = 'state_changed' AND version > $2 ORDER BY seq", [paymentId, afterVersion])).map(toEvent);
    },
    async orphanEvents(afterSeq = 0, limit = 100) {
      return (await all(q, 'SELECT * FROM payment_events WHERE payment_id IS NULL AND seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])).map(toEvent);
    },
    async findIdempotency(scope, key) {
      const r = await one(q, 'SELECT request_hash, payment_id FROM idempotency_keys WHERE scope = $1 AND key = $2', [scope, key]);
      return r ? { requestHash: r['request_hash'] as string, paymentId: r['payment_id'] as string } : null;
    },
    async saveIdempotency(scope, key, requestHash, paymentId, at) {
      await run(q, 'INSERT INTO idempotency_keys (scope, key, request_hash, payment_id, created_at) VALUES ($1, $2, $3, $4, $5)', [scope, key, requestHash, paymentId, at]);
    },
    purgeIdempotency: (before) => run(q, 'DELETE FROM idempotency_keys WHERE created_at < $1', [before]),
    async insertRefund(r) {
      await run(
        q,
        `INSERT INTO refunds (id, payment_id, amount_minor, state, reason, requested_by, created_at, updated_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $6)`,
        [r.id, r.paymentId, r.amountMinor, r.reason, r.requestedBy, r.at],
      );
    },
    async getRefund(id) {
      const r = await one(q, 'SELECT * FROM refunds WHERE id = $1', [id]);
      return r ? toRefund(r) : null;
    },
    async refundsOf(paymentId) {
      return (await all(q, 'SELECT * FROM refunds WHERE payment_id = $1 ORDER BY created_at, id', [paymentId])).map(toRefund);
    },
    async settleRefund(id, state, upstreamRefundId, errorMessage, at) {
      return (await run(q, "UPDATE refunds SET state = $1, upstream_refund_id = $2, error_message = $3, updated_at = $4 WHERE id = $5 AND state = 'pending'", [state, upstreamRefundId, errorMessage, at, id])) === 1;
    },
    async pendingRefundsMinor(paymentId) {
      const r = await one(q, "SELECT coalesce(sum(amount_minor), 0)::bigint AS total FROM refunds WHERE payment_id = $1 AND state = 'pending'", [paymentId]);
      return r?.['total'] as number;
    },
    async counts() {
      const r = await one(
        q,
        `SELECT (SELECT count(*) FROM payments WHERE state IN ('created','awaiting_customer')) AS open, (SELECT count(*) FROM payments WHERE attention IS NOT NULL) AS attention`,
        [],
      );
      return { open: r?.['open'] as number, attention: r?.['attention'] as number };
    },
    async expiredOpen(now, limit) {
      return (await all(q, "SELECT * FROM payments WHERE state IN ('created','awaiting_customer') AND expires_at <= $1 ORDER BY expires_at LIMIT $2", [now, limit])).map(toPayment);
    },
    async overdueOpen(createdBefore, checkedBefore, limit) {
      return (
        await all(
          q,
          `SELECT * FROM payments WHERE state = 'awaiting_customer' AND provider = 'partpay' AND created_at <= $1
             AND coalesce(last_checked_at, 0) <= $2 ORDER BY coalesce(last_checked_at, 0), created_at LIMIT $3`,
          [createdBefore, checkedBefore, limit],
        )
      ).map(toPayment);
    },
    async unsettledOfTerminal(terminalId) {
      const r = await one(
        q,
        `SELECT count(*) AS total,
            count(*) FILTER (WHERE state NOT IN ${FINAL_SQL}) AS open,
            count(*) FILTER (WHERE attention IS NOT NULL) AS attention,
            (SELECT count(*) FROM outbox o JOIN payments p ON p.id = o.payment_id WHERE p.terminal_id = $1 AND o.state IN ('pending', 'dead')) AS owed
          FROM payments WHERE terminal_id = $1`,
        [terminalId],
      );
      return { total: r?.['total'] as number, open: r?.['open'] as number, attention: r?.['attention'] as number, owed: r?.['owed'] as number };
    },
    async page(query: PaymentPageQuery) {
      const { args, arg } = builder();
      const where = [`terminal_id = ${arg(query.terminalId)}`];
      if (query.state === 'final') where.push(`state IN ${FINAL_SQL}`);
      else if (query.state !== undefined) where.push(`state = ${arg(query.state)}`);
      if (query.merchantReference !== undefined) where.push(`merchant_reference = ${arg(query.merchantReference)}`);
      if (query.createdGte !== undefined) where.push(`created_at >= ${arg(query.createdGte)}`);
      if (query.createdLt !== undefined) where.push(`created_at < ${arg(query.createdLt)}`);
      if (query.after) where.push(`(created_at, id) < (${arg(query.after.createdAt)}, ${arg(query.after.id)})`);
      const rows = (await all(q, `SELECT * FROM payments WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ${arg(query.limit + 1)}`, args)).map(toPayment);
      return { payments: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
    },
    async terminalChanges(terminalId, afterSeq, uptoSeq, limit) {
      return (
        await all(
          q,
          `SELECT e.* FROM payment_events e JOIN payments p ON p.id = e.payment_id
            WHERE e.seq > $1 AND e.seq <= $2 AND p.terminal_id = $3 AND ${TERMINAL_CHANGE_PG} ORDER BY e.seq LIMIT $4`,
          [afterSeq, uptoSeq, terminalId, limit],
        )
      ).map(toEvent);
    },
    lastSeq: () => committedHorizon(q, horizon),
    async list(filter: PaymentFilter) {
      const { args, arg } = builder();
      const where: string[] = [];
      if (filter.state === 'final') where.push(`state IN ${FINAL_SQL}`);
      else if (filter.state) where.push(`state = ${arg(filter.state)}`);
      if (filter.terminalId) where.push(`terminal_id = ${arg(filter.terminalId)}`);
      if (filter.storeId) where.push(`store_id = ${arg(filter.storeId)}`);
      if (filter.attention) where.push('attention IS NOT NULL');
      if (filter.from !== undefined) where.push(`created_at >= ${arg(filter.from)}`);
      if (filter.to !== undefined) where.push(`created_at < ${arg(filter.to)}`);
      const limit = arg(Math.min(filter.limit ?? 100, 1000));
      return (await all(q, `SELECT * FROM payments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ${limit}`, args)).map(toPayment);
    },
  };
}

/** How long {@link committedHorizon} waits for the transactions in flight before answering the last horizon it proved. */
const HORIZON_WAIT_MS = 2_000;

/**
 * The newest journal number below which every entry is committed (or never will be): what a
 * reader may move its cursor to without skipping an entry committed later.
 *
 * On SQLite one writer commits in number order. Here several transactions (on several daemons)
 * take numbers and commit in any order: entry 6 may be visible while entry 5's transaction has
 * not committed yet, and a stream that moved past 6 would never send 5. So: read the newest
 * visible number `m` and, in the same snapshot, the transactions in flight; every entry numbered
 * at most `m` and not yet visible belongs to one of them (each journaling transaction has its id
 * before it takes a number, see `journal`); once none of them is in progress, `m` is safe.
 * Transactions are short, so the wait is a few milliseconds; one that stays open longer (an
 * operator's session) holds the streams back (the last proved horizon is answered) rather than
 * letting them skip.
 */
async function committedHorizon(q: Queryable, horizon: { safe: number }): Promise<number> {
  const sample = await one(q, 'SELECT coalesce(max(seq), 0)::bigint AS seq, ARRAY(SELECT pg_snapshot_xip(pg_current_snapshot()))::text[] AS xip FROM payment_events', []);
  const newest = sample?.['seq'] as number;
  const inFlight = (sample?.['xip'] as string[] | undefined) ?? [];
  const until = Date.now() + HORIZON_WAIT_MS;
  for (let pause = 1; inFlight.length > 0; pause = Math.min(pause * 2, 20)) {
    const open = await one(q, "SELECT count(*)::int AS n FROM unnest($1::xid8[]) AS x WHERE pg_xact_status(x) = 'in progress'", [inFlight]);
    if (Number(open?.['n']) === 0) break;
    if (Date.now() >= until) return horizon.safe;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  horizon.safe = Math.max(horizon.safe, newest);
  return horizon.safe;
}
