/**
 * Fills a tenderbridge database with a year of payments as the daemon writes them, for
 * measuring what a big file costs: `npx tsx scripts/bench/fill-db.ts --payments=1000000 --out=/tmp/big.db`.
 *
 * The rows copy the shapes the daemon stores (measured on a benchmark run's file): a PartPay
 * payment has its create request, the order's upstream response, three state changes and the
 * signed callback with its raw body in the journal; refunds have their row, their outbox
 * delivery and journal entries; Electrum payments have their QR code, forwarded pay, message
 * ids and advice. The mix of final states, the share of Electrum and the open payments of the
 * last minutes follow a store's day; identifiers are random, as the daemon's are.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { openDatabase, migrate, type Db } from '../../src/shared/db/open.js';

export interface FillOptions {
  payments: number;
  /** Days the payments spread over, ending at `now`. */
  days: number;
  now: number;
  terminals: string[];
  storeId: string;
  /** Days of Electrum message ids and delivered outbox rows kept (retention.otherDays). */
  otherDays: number;
  /** Hours of idempotency keys kept (payments.idempotencyKeyHours). */
  idempotencyKeyHours: number;
  /** How many of the newest payments are left open (default: a few, as at any moment of a trading day). */
  openTail?: number;
  onProgress?: (done: number) => void;
}

/** Final states by share of payments (the rest of each day's last minutes stay open). */
const MIX: Array<[state: string, share: number]> = [
  ['approved', 0.852],
  ['declined', 0.06],
  ['expired', 0.04],
  ['cancelled', 0.03],
  ['refunded', 0.012],
  ['partially_refunded', 0.005],
  ['failed', 0.001],
];
const ELECTRUM_SHARE = 0.1;
const DAY = 86_400_000;

function pick(x: number): string {
  let acc = 0;
  for (const [state, share] of MIX) {
    acc += share;
    if (x < acc) return state;
  }
  return 'approved';
}

/** A small deterministic generator, so two fills of the same size are the same file. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function statements(db: Db) {
  return {
    payment: db.prepare(`INSERT INTO payments (id, provider, terminal_id, store_id, merchant_id, merchant_reference, amount_minor, currency, state, version,
      upstream_order_id, upstream_order_number, upstream_status, approved_minor, refunded_minor, qr_kind, qr_data, created_at, updated_at, expires_at, final_at, last_checked_at)
      VALUES (@id, @provider, @terminal, @store, 'bench-merchant', @ref, @amount, 'NZD', @state, @version, @orderId, @orderNumber, @upstreamStatus, @approved, @refunded, @qrKind, @qrData, @created, @updated, @expires, @final, NULL)`),
    event: db.prepare('INSERT INTO payment_events (payment_id, at, kind, actor, from_state, to_state, version, detail, raw_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    refund: db.prepare(`INSERT INTO refunds (id, payment_id, amount_minor, state, reason, requested_by, upstream_refund_id, created_at, updated_at) VALUES (?, ?, ?, 'succeeded', 'customer returned goods', ?, ?, ?, ?)`),
    outbox: db.prepare(`INSERT INTO outbox (kind, payment_id, payload, state, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'done', 1, ?, ?, ?)`),
    idem: db.prepare('INSERT INTO idempotency_keys (scope, key, request_hash, payment_id, created_at) VALUES (?, ?, ?, ?, ?)'),
    qrCode: db.prepare(`INSERT INTO electrum_qr_codes (tran_id, request_id, client_id, terminal_id, provider, scheme, qr_code, amount_minor, currency, payment_id, state, partner_id, partner_payment_token, scan_id, scanned_at, response_body, created_at, expires_at)
      VALUES (?, ?, 'bench-pos', ?, 'electrum', 'EMVCO', ?, ?, 'NZD', ?, 'used', 'bench-partner', ?, ?, ?, ?, ?, ?)`),
    electrum: db.prepare(`INSERT INTO electrum_payments (client_id, request_id, partner_request_id, payment_id, tran_id, partner_id, request_body, response_status, response_body, advice, advice_id, created_at, forwarded_at, answered_at)
      VALUES ('bench-pos', ?, ?, ?, ?, 'bench-partner', ?, 201, ?, ?, ?, ?, ?, ?)`),
    message: db.prepare('INSERT INTO electrum_messages (sender, id, kind, request_hash, related_id, response_status, response_body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
  };
}

const hash = () => randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');

/**
 * Writes `o.payments` payments (and what hangs off them) into the database at `path`,
 * migrating it first. Fast settings while filling (no fsync, a big cache); the file is left
 * in WAL mode with `synchronous=FULL`, as the daemon opens it.
 * @example fillDatabase('/tmp/big.db', { payments: 1_000_000, days: 365, now: Date.now(), terminals: ['TERM0001'], storeId: 'STORE001', otherDays: 90, idempotencyKeyHours: 24 })
 */
export function fillDatabase(path: string, o: FillOptions): { payments: number; events: number; refunds: number; electrum: number } {
  const db = openDatabase(path);
  migrate(db);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  const s = statements(db);
  const random = rng(o.payments);
  const start = o.now - o.days * DAY;
  const step = (o.now - start) / o.payments;
  let events = 0;
  let refunds = 0;
  let electrum = 0;
  const openTail = o.openTail ?? Math.max(3, Math.round(o.payments / 20_000));
  const one = (i: number) => {
    const created = Math.floor(start + i * step);
    const id = randomUUID();
    const terminal = o.terminals[i % o.terminals.length] as string;
    const amount = 500 + Math.floor(random() * 20_000);
    const isElectrum = random() < ELECTRUM_SHARE;
    // The newest few are still open, as at any moment of a trading day.
    const state = i >= o.payments - openTail ? 'awaiting_customer' : pick(random());
    const open = state === 'awaiting_customer';
    const final = open ? null : created + 5_000 + Math.floor(random() * 60_000);
    const refunded = state === 'refunded' ? amount : state === 'partially_refunded' ? Math.floor(amount / 3) : 0;
    const approved = ['approved', 'refunded', 'partially_refunded'].includes(state) ? amount : null;
    const orderId = isElectrum ? null : randomUUID();
    const tranId = isElectrum ? `T${randomUUID().replace(/-/g, '').slice(0, 20)}` : null;
    const actor = isElectrum ? 'pos:bench-pos' : `terminal:${terminal}`;
    const upstream = isElectrum ? 'electrum' : 'partpay';
    const reference = `R-${terminal}-${i}`;
    s.payment.run({
      id, provider: isElectrum ? 'electrum' : 'partpay', terminal, store: o.storeId, ref: reference, amount, state, version: open ? 2 : 3 + (refunded ? 1 : 0),
      orderId: isElectrum ? `electrum:${tranId}` : orderId, orderNumber: isElectrum ? null : `${new Date(created).toISOString().slice(2, 10).replace(/-/g, '')}-${String(i % 1_000_000).padStart(6, '0')}`,
      upstreamStatus: open ? 'pending' : state, approved, refunded, qrKind: isElectrum ? null : 'url', qrData: isElectrum ? null : `http://127.0.0.1:9/qr-images/${orderId}.jpg?sig=${randomUUID().slice(0, 8)}`,
      created, updated: final ?? created + 300, expires: created + 600_000, final,
    });
    const key = `till-${terminal}-${created}-${i}`;
    const ev = (at: number, kind: string, who: string, from: string | null, to: string | null, version: number | null, detail: unknown, raw: string | null = null) => {
      s.event.run(id, at, kind, who, from, to, version, detail === null ? null : JSON.stringify(detail), raw);
      events += 1;
    };
    ev(created, 'request', actor, null, null, null, { operation: 'create', amountMinor: amount, currency: 'NZD', merchantReference: reference, idempotencyKey: key });
    ev(created, 'state_changed', actor, null, 'created', 1, null);
    ev(created + 180, 'upstream_response', upstream, null, null, null, { event: 'order_created', call: 'createOrder', orderId, orderNumber: `261201-${String(i % 1_000_000).padStart(6, '0')}`, status: 'pending', qr: 'url', decision: 'changed', note: 'order created' });
    ev(created + 181, 'state_changed', upstream, 'created', 'awaiting_customer', 2, null);
    if (!open && final !== null) {
      const to = state === 'refunded' || state === 'partially_refunded' ? 'approved' : state;
      const raw = JSON.stringify({ orderId, orderNumber: `261201-${i}`, orderStatus: to, gatewayReference: randomUUID(), amount: amount / 100, currency: 'NZD', merchantReference: reference, timestamp: new Date(final).toISOString() });
      ev(final, 'callback', upstream, null, null, null, { event: 'provider_status', outcome: to, orderId, orderNumber: `261201-${i}`, orderStatus: to, gatewayReference: randomUUID(), decision: 'changed', signature: 'verified' }, isElectrum ? null : raw);
      ev(final, 'state_changed', upstream, 'awaiting_customer', to, 3, null);
      if (refunded > 0) {
        const refundId = randomUUID();
        const at = final + 3_600_000;
        s.refund.run(refundId, id, refunded, `terminal:${terminal}`, randomUUID(), at, at + 400);
        s.outbox.run('refund', id, JSON.stringify({ refundId, amountMinor: refunded, key: refundId }), at, at, at + 400);
        ev(at, 'request', `terminal:${terminal}`, null, null, null, { operation: 'refund', refundId, amountMinor: refunded, reason: 'customer returned goods' });
        ev(at + 400, 'upstream_response', upstream, null, null, null, { event: 'refund_succeeded', refundId, upstreamRefundId: randomUUID() });
        ev(at + 400, 'state_changed', upstream, 'approved', state, 4, null);
        refunds += 1;
      }
      if (state === 'cancelled') s.outbox.run('cancel', id, JSON.stringify({ reason: 'CANCELLED' }), final, final, final + 200);
    }
    if (o.now - created < o.idempotencyKeyHours * 3_600_000) s.idem.run(`terminal:${terminal}`, key, hash(), id, created);
    if (isElectrum && tranId) {
      const requestId = randomUUID();
      const emv = `00020101021226${'0'.repeat(40)}${tranId}5204599953035545406${amount}5802NZ6304ABCD`;
      s.qrCode.run(tranId, randomUUID(), terminal, emv, amount, id, randomUUID(), randomUUID(), created + 2_000, JSON.stringify({ id: randomUUID(), tranId, qrCode: emv, time: new Date(created).toISOString() }), created, created + 600_000);
      const request = JSON.stringify({ id: requestId, time: new Date(created).toISOString(), tranId, amounts: { requestAmount: { amount: amount / 100, currency: '554' } }, posInfo: { posId: terminal, storeId: o.storeId }, paymentToken: randomUUID() });
      const advice = final === null ? null : state === 'approved' ? 'confirmed' : 'reversed';
      s.electrum.run(requestId, requestId, id, tranId, request, request.replace('requestAmount', 'approvedAmount'), advice, advice ? randomUUID() : null, created + 2_000, created + 2_010, created + 2_300);
      if (o.now - created < o.otherDays * DAY) {
        s.message.run('pos:bench-pos', randomUUID(), 'createQrCode', hash(), tranId, 201, null, created);
        s.message.run('partner:bench-partner', randomUUID(), 'notifyScan', hash(), tranId, 202, null, created + 2_000);
        s.message.run('tenderbridge', requestId, 'pay', '', id, null, null, created + 2_010);
      }
      electrum += 1;
    }
  };
  const BATCH = 20_000;
  for (let i = 0; i < o.payments; i += BATCH) {
    db.transaction(() => {
      for (let j = i; j < Math.min(o.payments, i + BATCH); j++) one(j);
    })();
    o.onProgress?.(Math.min(o.payments, i + BATCH));
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('ANALYZE');
  db.close();
  return { payments: o.payments, events, refunds, electrum };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { payments: { type: 'string', default: '1000000' }, out: { type: 'string' }, days: { type: 'string', default: '365' } }, strict: true });
  if (!values.out) throw new Error('usage: tsx scripts/bench/fill-db.ts --payments=N --out=FILE [--days=365]');
  const t0 = Date.now();
  const n = Number(values.payments);
  const result = fillDatabase(values.out, {
    payments: n, days: Number(values.days), now: Date.now(), terminals: Array.from({ length: 20 }, (_, k) => `TERM${String(k + 1).padStart(4, '0')}`), storeId: 'STORE001', otherDays: 90, idempotencyKeyHours: 24,
    onProgress: (done) => process.stderr.write(`\r${done}/${n} payments, ${Math.round((Date.now() - t0) / 1000)} s`),
  });
  process.stderr.write(`\n${JSON.stringify(result)} in ${Math.round((Date.now() - t0) / 1000)} s\n`);
}
