import { isFinal, isOpen, PAID_STATES, settledMinor } from '../payments/state-machine.js';
import type { Payment, PaymentEventRow, Refund } from '../payments/types.js';
import type { OutboxItem } from '../outbox/repository.js';
import { ValidationError } from '../shared/errors.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The local calendar day `YYYY-MM-DD` as [start, next day's start) in epoch ms. */
export function localDayBounds(day: string): { from: number; to: number } {
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  const start = new Date(y, mo - 1, d);
  if (start.getFullYear() !== y || start.getMonth() !== mo - 1 || start.getDate() !== d) throw new ValidationError(`date: "${day}" is not a calendar date`);
  return { from: start.getTime(), to: new Date(y, mo - 1, d + 1).getTime() };
}

/** A local date as `YYYY-MM-DD`. */
export function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` (a local day: its start, or for `to` the next day's start) or an ISO timestamp, as epoch ms. */
export function timeBound(value: string, edge: 'from' | 'to'): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const day = localDayBounds(value);
    return edge === 'from' ? day.from : day.to;
  }
  return Date.parse(value);
}

/**
 * A payment as the console shows it: everything an operator needs, nothing as bulky as the raw
 * QR image. The provider's own facts sit under its name (`partpay` or `electrum`).
 */
export function consolePayment(p: Payment, detail: Record<string, unknown> | null = null) {
  return {
    id: p.id,
    provider: p.provider,
    state: p.state,
    version: p.version,
    open: isOpen(p.state),
    final: isFinal(p.state),
    paid: PAID_STATES.includes(p.state),
    attention: p.attention,
    terminalId: p.terminalId,
    storeId: p.storeId,
    merchantId: p.merchantId,
    merchantReference: p.merchantReference,
    amountMinor: p.amountMinor,
    currency: p.currency,
    approvedMinor: p.approvedMinor,
    refundedMinor: p.refundedMinor,
    settledMinor: settledMinor(p),
    partpay: p.provider === 'partpay' ? detail : null,
    electrum: p.provider === 'electrum' ? detail : null,
    upstreamOrderId: p.upstreamOrderId,
    upstreamOrderNumber: p.upstreamOrderNumber,
    upstreamStatus: p.upstreamStatus,
    error: p.errorCode ? { code: p.errorCode, message: p.errorMessage } : null,
    resolvedBy: p.resolvedBy,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    expiresAt: iso(p.expiresAt),
    finalAt: iso(p.finalAt),
  };
}

/** A journal entry with its raw callback body (the evidence an operator may need). */
export function consoleEvent(e: PaymentEventRow) {
  return { seq: e.seq, at: iso(e.at), kind: e.kind, actor: e.actor, fromState: e.fromState, toState: e.toState, version: e.version, detail: e.detail, rawBody: e.rawBody };
}

export function consoleRefund(r: Refund) {
  return { id: r.id, amountMinor: r.amountMinor, state: r.state, reason: r.reason, requestedBy: r.requestedBy, upstreamRefundId: r.upstreamRefundId, error: r.errorMessage, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) };
}

export function consoleOutboxItem(o: OutboxItem) {
  return { id: o.id, kind: o.kind, paymentId: o.paymentId, state: o.state, attempts: o.attempts, nextAttemptAt: iso(o.nextAttemptAt), lastError: o.lastError, createdAt: iso(o.createdAt), updatedAt: iso(o.updatedAt) };
}

/** Sums the samples of each named metric in Prometheus text exposition (labels ignored). */
export function sumMetrics(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m?.[1] || !(m[1] in out)) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) out[m[1]] = (out[m[1]] ?? 0) + value;
  }
  return out;
}
