import type { Db } from '../shared/db/open.js';
import type { Patch } from './state-machine.js';
import type { Payment, PaymentEventRow, Refund } from './types.js';

type Row = Record<string, unknown>;

export function toPayment(r: Row): Payment {
  return {
    id: r['id'] as string,
    provider: r['provider'] as Payment['provider'],
    terminalId: r['terminal_id'] as string,
    storeId: r['store_id'] as string,
    merchantId: r['merchant_id'] as string,
    merchantReference: r['merchant_reference'] as string,
    amountMinor: r['amount_minor'] as number,
    currency: r['currency'] as string,
    state: r['state'] as Payment['state'],
    version: r['version'] as number,
    upstreamOrderId: (r['upstream_order_id'] as string | null) ?? null,
    upstreamOrderNumber: (r['upstream_order_number'] as string | null) ?? null,
    upstreamStatus: (r['upstream_status'] as string | null) ?? null,
    approvedMinor: (r['approved_minor'] as number | null) ?? null,
    refundedMinor: r['refunded_minor'] as number,
    attention: (r['attention'] as Payment['attention']) ?? null,
    errorCode: (r['error_code'] as string | null) ?? null,
    errorMessage: (r['error_message'] as string | null) ?? null,
    qrKind: (r['qr_kind'] as Payment['qrKind']) ?? null,
    qrData: (r['qr_data'] as string | null) ?? null,
    qrText: (r['qr_text'] as string | null) ?? null,
    resolvedBy: (r['resolved_by'] as string | null) ?? null,
    createdAt: r['created_at'] as number,
    updatedAt: r['updated_at'] as number,
    expiresAt: r['expires_at'] as number,
    finalAt: (r['final_at'] as number | null) ?? null,
    lastCheckedAt: (r['last_checked_at'] as number | null) ?? null,
  };
}

export function toEvent(r: Row): PaymentEventRow {
  return {
    seq: r['seq'] as number,
    paymentId: (r['payment_id'] as string | null) ?? null,
    at: r['at'] as number,
    kind: r['kind'] as string,
    actor: r['actor'] as string,
    fromState: (r['from_state'] as PaymentEventRow['fromState']) ?? null,
    toState: (r['to_state'] as PaymentEventRow['toState']) ?? null,
    version: (r['version'] as number | null) ?? null,
    detail: r['detail'] ? (JSON.parse(r['detail'] as string) as Record<string, unknown>) : null,
    rawBody: (r['raw_body'] as string | null) ?? null,
  };
}

export function toRefund(r: Row): Refund {
  return {
    id: r['id'] as string,
    paymentId: r['payment_id'] as string,
    amountMinor: r['amount_minor'] as number,
    state: r['state'] as Refund['state'],
    reason: (r['reason'] as string | null) ?? null,
    requestedBy: r['requested_by'] as string,
    upstreamRefundId: (r['upstream_refund_id'] as string | null) ?? null,
    errorMessage: (r['error_message'] as string | null) ?? null,
    createdAt: r['created_at'] as number,
    updatedAt: r['updated_at'] as number,
  };
}

export interface NewPayment {
  id: string;
  provider: Payment['provider'];
  terminalId: string;
  storeId: string;
  merchantId: string;
  merchantReference: string;
  amountMinor: number;
  currency: string;
  createdAt: number;
  expiresAt: number;
}

export interface NewEvent {
  paymentId: string | null;
  at: number;
  kind: string;
  actor: string;
  fromState?: string | null;
  toState?: string | null;
  version?: number | null;
  detail?: Record<string, unknown> | null;
  rawBody?: string | null;
}

export interface PaymentFilter {
  state?: string | undefined;
  terminalId?: string | undefined;
  storeId?: string | undefined;
  attention?: boolean | undefined;
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
}

/** One page of a terminal's payments, newest first, by the keyset (created_at, id). */
export interface PaymentPageQuery {
  terminalId: string;
  /** A state, or "final" for every final state. */
  state?: string | undefined;
  merchantReference?: string | undefined;
  /** Created at or after (epoch ms). */
  createdGte?: number | undefined;
  /** Created before (epoch ms). */
  createdLt?: number | undefined;
  /** Continue after this payment (the last of the previous page). */
  after?: { createdAt: number; id: string } | undefined;
  limit: number;
}

/**
 * The journal kinds a terminal's event stream shows: state changes and the life of refunds.
 * A refund's final failure is journaled as an `upstream_error` of the refund call that did not
 * leave it queued (see refunds.ts `fail`).
 */
export const TERMINAL_CHANGE_SQL = `(e.kind IN ('state_changed', 'refund_requested', 'refund_settled')
  OR (e.kind = 'upstream_error' AND json_extract(e.detail, '$.call') = 'refund' AND json_extract(e.detail, '$.queued') IS NULL))`;

export const FINAL_SQL = "('approved','declined','cancelled','expired','failed','partially_refunded','refunded','reversed')";

/**
 * The SQL of one page of a terminal's payments, newest first, asking one more row than
 * `limit` to tell whether more follow (exported so a test can check its query plan).
 * @example const { sql, args } = paymentPageSql({ terminalId: 'TERM0001', limit: 20 })
 */
export function paymentPageSql(q: PaymentPageQuery): { sql: string; args: Record<string, unknown> } {
  const where = ['terminal_id = @terminalId'];
  const args: Record<string, unknown> = { terminalId: q.terminalId, limit: q.limit + 1 };
  if (q.state === 'final') where.push(`state IN ${FINAL_SQL}`);
  else if (q.state !== undefined) {
    where.push('state = @state');
    args['state'] = q.state;
  }
  if (q.merchantReference !== undefined) {
    where.push('merchant_reference = @merchantReference');
    args['merchantReference'] = q.merchantReference;
  }
  if (q.createdGte !== undefined) {
    where.push('created_at >= @createdGte');
    args['createdGte'] = q.createdGte;
  }
  if (q.createdLt !== undefined) {
    where.push('created_at < @createdLt');
    args['createdLt'] = q.createdLt;
  }
  if (q.after) {
    where.push('(created_at, id) < (@afterCreatedAt, @afterId)');
    args['afterCreatedAt'] = q.after.createdAt;
    args['afterId'] = q.after.id;
  }
  return { sql: `SELECT * FROM payments WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT @limit`, args };
}

/**
 * The SQL of payments, their journal, refunds and idempotency keys. Prepared once; every
 * multi-step write is composed by the service inside `db.transaction`.
 */
export function createPaymentRepository(db: Db) {
  const s = {
    insert: db.prepare(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, created_at, updated_at, expires_at)
      VALUES (@id, @provider, @terminalId, @storeId, @merchantId, @merchantReference, @amountMinor, @currency, 'created', @createdAt, @createdAt, @expiresAt)`),
    get: db.prepare('SELECT * FROM payments WHERE id = ?'),
    patch: db.prepare(
      `UPDATE payments SET state = @state, version = @version, upstream_order_id = @upstreamOrderId, upstream_order_number = @upstreamOrderNumber,
         approved_minor = @approvedMinor, refunded_minor = @refundedMinor, attention = @attention, error_code = @errorCode, error_message = @errorMessage,
         resolved_by = @resolvedBy, updated_at = @updatedAt, final_at = @finalAt
       WHERE id = @id AND version = @prev`,
    ),
    byOrder: db.prepare('SELECT * FROM payments WHERE upstream_order_id = ? AND provider = ?'),
    orderIdTaken: db.prepare('SELECT 1 FROM payments WHERE upstream_order_id = ?'),
    event: db.prepare(`INSERT INTO payment_events (payment_id, at, kind, actor, from_state, to_state, version, detail, raw_body)
      VALUES (@paymentId, @at, @kind, @actor, @fromState, @toState, @version, @detail, @rawBody)`),
    events: db.prepare('SELECT * FROM payment_events WHERE payment_id = ? AND seq > ? ORDER BY seq'),
    stateEvents: db.prepare("SELECT * FROM payment_events WHERE payment_id = ? AND kind = 'state_changed' AND version > ? ORDER BY seq"),
    orphanEvents: db.prepare('SELECT * FROM payment_events WHERE payment_id IS NULL AND seq > ? ORDER BY seq LIMIT ?'),
    setQr: db.prepare('UPDATE payments SET qr_kind = ?, qr_data = ? WHERE id = ?'),
    setExpires: db.prepare('UPDATE payments SET expires_at = ? WHERE id = ?'),
    setQrText: db.prepare('UPDATE payments SET qr_text = ? WHERE id = ? AND qr_text IS NULL'),
    touchChecked: db.prepare('UPDATE payments SET last_checked_at = ?, upstream_status = coalesce(?, upstream_status) WHERE id = ?'),
    idemGet: db.prepare('SELECT request_hash, payment_id FROM idempotency_keys WHERE scope = ? AND key = ?'),
    idemPut: db.prepare('INSERT INTO idempotency_keys (scope, key, request_hash, payment_id, created_at) VALUES (?, ?, ?, ?, ?)'),
    idemPurge: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
    refundInsert: db.prepare(`INSERT INTO refunds (id, payment_id, amount_minor, state, reason, requested_by, created_at, updated_at)
      VALUES (@id, @paymentId, @amountMinor, 'pending', @reason, @requestedBy, @at, @at)`),
    refundGet: db.prepare('SELECT * FROM refunds WHERE id = ?'),
    refundsOf: db.prepare('SELECT * FROM refunds WHERE payment_id = ? ORDER BY created_at, id'),
    refundSettle: db.prepare('UPDATE refunds SET state = ?, upstream_refund_id = ?, error_message = ?, updated_at = ? WHERE id = ? AND state = \'pending\''),
    pendingRefunds: db.prepare("SELECT coalesce(sum(amount_minor), 0) AS total FROM refunds WHERE payment_id = ? AND state = 'pending'"),
    counts: db.prepare(`SELECT (SELECT count(*) FROM payments WHERE state IN ('created','awaiting_customer')) AS open,
      (SELECT count(*) FROM payments WHERE attention IS NOT NULL) AS attention`),
    expiredOpen: db.prepare("SELECT * FROM payments WHERE state IN ('created','awaiting_customer') AND expires_at <= ? ORDER BY expires_at LIMIT ?"),
    unsettledOfTerminal: db.prepare(`SELECT count(*) AS total,
        coalesce(sum(state NOT IN ${FINAL_SQL}), 0) AS open,
        coalesce(sum(attention IS NOT NULL), 0) AS attention,
        (SELECT count(*) FROM outbox o JOIN payments q ON q.id = o.payment_id WHERE q.terminal_id = @terminalId AND o.state IN ('pending', 'dead')) AS owed
      FROM payments WHERE terminal_id = @terminalId`),
    terminalChanges: db.prepare(`SELECT e.* FROM payment_events e JOIN payments p ON p.id = e.payment_id
      WHERE e.seq > ? AND e.seq <= ? AND p.terminal_id = ? AND ${TERMINAL_CHANGE_SQL} ORDER BY e.seq LIMIT ?`),
    lastSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM payment_events').pluck(),
    overdueOpen: db.prepare(`SELECT * FROM payments WHERE state = 'awaiting_customer' AND provider = 'partpay' AND created_at <= ?
      AND coalesce(last_checked_at, 0) <= ? ORDER BY coalesce(last_checked_at, 0), created_at LIMIT ?`),
  };

  return {
    insert(p: NewPayment): void {
      s.insert.run(p);
    },
    get(id: string): Payment | null {
      const r = s.get.get(id) as Row | undefined;
      return r ? toPayment(r) : null;
    },
    /**
     * The payment, read to be changed in the caller's transaction: on PostgreSQL its row is
     * locked until the transaction ends (SELECT ... FOR UPDATE); SQLite's write lock already covers it.
     */
    getForUpdate(id: string): Payment | null {
      const r = s.get.get(id) as Row | undefined;
      return r ? toPayment(r) : null;
    },
    /** The payment whose order at `provider` has this id (another provider's payment is never found). */
    getByOrderId(orderId: string, provider: Payment['provider']): Payment | null {
      const r = s.byOrder.get(orderId, provider) as Row | undefined;
      return r ? toPayment(r) : null;
    },
    /** True if a payment of any provider has an order with this id (order ids are unique across providers): one indexed read. */
    orderIdTaken(orderId: string): boolean {
      return s.orderIdTaken.get(orderId) !== undefined;
    },
    /**
     * Applies a state-machine patch, bumping the version. Returns the updated payment.
     * `finalAt` is set the first time the payment leaves an open state.
     */
    applyPatch(current: Payment, patch: Patch, at: number, resolvedBy: string | null): Payment {
      const next: Payment = { ...current, ...patch, version: current.version + 1, updatedAt: at } as Payment;
      if (patch.state && patch.state !== current.state && current.finalAt === null && patch.state !== 'awaiting_customer' && patch.state !== 'created') {
        next.finalAt = at;
        next.resolvedBy = resolvedBy;
      }
      const info = s.patch.run({ ...next, prev: current.version });
      if (info.changes !== 1) throw new Error(`payment ${current.id} changed concurrently`);
      return next;
    },
    setQr(id: string, kind: 'base64' | 'url' | 'text', data: string): void {
      s.setQr.run(kind, data, id);
    },
    /** Moves an open payment's deadline (e.g. once forwarded, the partner's timeout applies). */
    setExpiresAt(id: string, at: number): void {
      s.setExpires.run(at, id);
    },
    setQrText(id: string, text: string): void {
      s.setQrText.run(text, id);
    },
    markChecked(id: string, at: number, upstreamStatus: string | null): void {
      s.touchChecked.run(at, upstreamStatus, id);
    },
    journal(e: NewEvent): number {
      const info = s.event.run({
        paymentId: e.paymentId,
        at: e.at,
        kind: e.kind,
        actor: e.actor,
        fromState: e.fromState ?? null,
        toState: e.toState ?? null,
        version: e.version ?? null,
        detail: e.detail ? JSON.stringify(e.detail) : null,
        rawBody: e.rawBody ?? null,
      });
      return Number(info.lastInsertRowid);
    },
    events(paymentId: string, afterSeq = 0): PaymentEventRow[] {
      return (s.events.all(paymentId, afterSeq) as Row[]).map(toEvent);
    },
    stateChangesAfter(paymentId: string, afterVersion: number): PaymentEventRow[] {
      return (s.stateEvents.all(paymentId, afterVersion) as Row[]).map(toEvent);
    },
    orphanEvents(afterSeq = 0, limit = 100): PaymentEventRow[] {
      return (s.orphanEvents.all(afterSeq, limit) as Row[]).map(toEvent);
    },
    findIdempotency(scope: string, key: string): { requestHash: string; paymentId: string } | null {
      const r = s.idemGet.get(scope, key) as { request_hash: string; payment_id: string } | undefined;
      return r ? { requestHash: r.request_hash, paymentId: r.payment_id } : null;
    },
    saveIdempotency(scope: string, key: string, requestHash: string, paymentId: string, at: number): void {
      s.idemPut.run(scope, key, requestHash, paymentId, at);
    },
    purgeIdempotency(before: number): number {
      return s.idemPurge.run(before).changes;
    },
    insertRefund(r: { id: string; paymentId: string; amountMinor: number; reason: string | null; requestedBy: string; at: number }): void {
      s.refundInsert.run(r);
    },
    getRefund(id: string): Refund | null {
      const r = s.refundGet.get(id) as Row | undefined;
      return r ? toRefund(r) : null;
    },
    refundsOf(paymentId: string): Refund[] {
      return (s.refundsOf.all(paymentId) as Row[]).map(toRefund);
    },
    settleRefund(id: string, state: 'succeeded' | 'failed', upstreamRefundId: string | null, errorMessage: string | null, at: number): boolean {
      return s.refundSettle.run(state, upstreamRefundId, errorMessage, at, id).changes === 1;
    },
    pendingRefundsMinor(paymentId: string): number {
      return (s.pendingRefunds.get(paymentId) as { total: number }).total;
    },
    /** How many payments are open, and how many wait for an operator: two index counts, whatever the file's size. */
    counts(): { open: number; attention: number } {
      return s.counts.get() as { open: number; attention: number };
    },
    /** Open payments whose expiry has passed. */
    expiredOpen(now: number, limit: number): Payment[] {
      return (s.expiredOpen.all(now, limit) as Row[]).map(toPayment);
    },
    /** Payments still waiting for a callback that were created before `createdBefore` and not checked since `checkedBefore`. */
    overdueOpen(createdBefore: number, checkedBefore: number, limit: number): Payment[] {
      return (s.overdueOpen.all(createdBefore, checkedBefore, limit) as Row[]).map(toPayment);
    },
    /**
     * What a terminal's payments still need, before it may be removed: payments still open,
     * payments flagged for an operator, and owed deliveries (refunds, cancels, advices) not done.
     */
    unsettledOfTerminal(terminalId: string): { total: number; open: number; attention: number; owed: number } {
      return s.unsettledOfTerminal.get({ terminalId }) as { total: number; open: number; attention: number; owed: number };
    },
    /**
     * One page of a terminal's payments, newest first, ordered by (created_at, id) so that
     * payments created meanwhile never shift a later page. Each page is one range of the
     * (terminal_id, [state | merchant_reference,] created_at, id) indexes (migration 6).
     * @example repo.page({ terminalId: 'TERM0001', limit: 20, after: { createdAt: last.createdAt, id: last.id } })
     */
    page(q: PaymentPageQuery): { payments: Payment[]; hasMore: boolean } {
      const { sql, args } = paymentPageSql(q);
      const rows = (db.prepare(sql).all(args) as Row[]).map(toPayment);
      return { payments: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
    },
    /**
     * The journal entries a terminal's event stream shows (state changes, refunds requested,
     * settled, failed) of its own payments, after `afterSeq` up to `uptoSeq`, oldest first.
     */
    terminalChanges(terminalId: string, afterSeq: number, uptoSeq: number, limit: number): PaymentEventRow[] {
      return (s.terminalChanges.all(afterSeq, uptoSeq, terminalId, limit) as Row[]).map(toEvent);
    },
    /** The newest journal sequence number (0 for an empty journal). */
    lastSeq(): number {
      return s.lastSeq.get() as number;
    },
    list(filter: PaymentFilter): Payment[] {
      const where: string[] = [];
      const args: Record<string, unknown> = { limit: Math.min(filter.limit ?? 100, 1000) };
      if (filter.state === 'final') where.push(`state IN ${FINAL_SQL}`);
      else if (filter.state) {
        where.push('state = @state');
        args['state'] = filter.state;
      }
      if (filter.terminalId) {
        where.push('terminal_id = @terminalId');
        args['terminalId'] = filter.terminalId;
      }
      if (filter.storeId) {
        where.push('store_id = @storeId');
        args['storeId'] = filter.storeId;
      }
      if (filter.attention) where.push('attention IS NOT NULL');
      if (filter.from !== undefined) {
        where.push('created_at >= @from');
        args['from'] = filter.from;
      }
      if (filter.to !== undefined) {
        where.push('created_at < @to');
        args['to'] = filter.to;
      }
      const sql = `SELECT * FROM payments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT @limit`;
      return (db.prepare(sql).all(args) as Row[]).map(toPayment);
    },
  };
}

export type PaymentRepository = ReturnType<typeof createPaymentRepository>;
