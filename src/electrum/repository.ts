import type { Db } from '../shared/db/open.js';

export type QrState = 'issued' | 'paying' | 'scanned' | 'used';

/** A QR code we issued: the `tranId` that ties createQrCode, notifyScan and pay together. */
export interface QrCodeRow {
  tranId: string;
  requestId: string;
  clientId: string;
  terminalId: string;
  provider: 'electrum' | 'partpay';
  scheme: string;
  qrCode: string;
  amountMinor: number | null;
  currency: string | null;
  paymentId: string | null;
  state: QrState;
  partnerId: string | null;
  partnerPaymentToken: string | null;
  scanId: string | null;
  scannedAt: number | null;
  responseBody: string;
  createdAt: number;
  expiresAt: number;
}

/** A pay request and what became of it. */
export interface ElectrumPaymentRow {
  /** The POS's id for the pay: unique only for its client. */
  requestId: string;
  /** The id the partner knows the payment by: the POS's, or ours when another payment already had it (null: a PartPay payment). */
  partnerRequestId: string | null;
  paymentId: string;
  tranId: string;
  clientId: string;
  partnerId: string | null;
  requestBody: string;
  responseStatus: number | null;
  responseBody: string | null;
  advice: 'confirmed' | 'reversed' | null;
  adviceId: string | null;
  createdAt: number;
  /** When the pay was forwarded to the partner (null: not forwarded). */
  forwardedAt: number | null;
  /** When the partner's answer was recorded, or we gave up waiting for it (null: still in flight, or never forwarded). */
  answeredAt: number | null;
}

/**
 * Every message id we were sent (per sender), for DUPLICATE_RECORD and for answering a repeated
 * advice the same way; and the ids we sent partners (sender "tenderbridge").
 */
export interface MessageRow {
  sender: string;
  id: string;
  kind: string;
  requestHash: string;
  relatedId: string | null;
  responseStatus: number | null;
  responseBody: string | null;
}

type Row = Record<string, unknown>;
/** Column name -> property name (`tran_id` -> `tranId`), worked out once per column: rows are mapped on every Electrum message. */
const camelNames = new Map<string, string>();
const camel = (key: string): string => {
  let name = camelNames.get(key);
  if (name === undefined) {
    name = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    camelNames.set(key, name);
  }
  return name;
};
export function mapRow<T>(r: Row | undefined): T | null {
  if (!r) return null;
  const out: Row = {};
  for (const key in r) out[camel(key)] = r[key];
  return out as T;
}

/** The SQL of the Electrum intermediate. Multi-step writes are composed inside `db.transaction` by the service. */
export function createElectrumRepository(db: Db) {
  const s = {
    insertQr: db.prepare(`INSERT INTO electrum_qr_codes (tran_id, request_id, client_id, terminal_id, provider, scheme, qr_code, amount_minor, currency, payment_id, state, response_body, created_at, expires_at)
      VALUES (@tranId, @requestId, @clientId, @terminalId, @provider, @scheme, @qrCode, @amountMinor, @currency, @paymentId, 'issued', @responseBody, @createdAt, @expiresAt)`),
    qr: db.prepare('SELECT * FROM electrum_qr_codes WHERE tran_id = ?'),
    qrState: db.prepare('UPDATE electrum_qr_codes SET state = @state WHERE tran_id = @tranId AND state = @from'),
    qrScan: db.prepare(`UPDATE electrum_qr_codes SET state = 'scanned', partner_id = @partnerId, partner_payment_token = @token, scan_id = @scanId, scanned_at = @at
      WHERE tran_id = @tranId AND state = 'paying'`),
    message: db.prepare('SELECT * FROM electrum_messages WHERE sender = ? AND id = ?'),
    insertMessage: db.prepare(`INSERT INTO electrum_messages (sender, id, kind, request_hash, related_id, response_status, response_body, created_at)
      VALUES (@sender, @id, @kind, @requestHash, @relatedId, @responseStatus, @responseBody, @createdAt)`),
    claimMessage: db.prepare(`INSERT INTO electrum_messages (sender, id, kind, request_hash, related_id, response_status, response_body, created_at)
      VALUES (@sender, @id, @kind, @requestHash, @relatedId, @responseStatus, @responseBody, @createdAt) ON CONFLICT (sender, id) DO NOTHING`),
    answerMessage: db.prepare('UPDATE electrum_messages SET response_status = ?, response_body = ? WHERE sender = ? AND id = ?'),
    insertPayment: db.prepare(`INSERT INTO electrum_payments (client_id, request_id, partner_request_id, payment_id, tran_id, request_body, created_at)
      VALUES (@clientId, @requestId, @partnerRequestId, @paymentId, @tranId, @requestBody, @createdAt)`),
    payment: db.prepare('SELECT * FROM electrum_payments WHERE client_id = ? AND request_id = ?'),
    paymentByPaymentId: db.prepare('SELECT * FROM electrum_payments WHERE payment_id = ?'),
    paymentByTran: db.prepare('SELECT * FROM electrum_payments WHERE tran_id = ? ORDER BY created_at DESC LIMIT 1'),
    paymentIdsNamed: db.prepare('SELECT DISTINCT payment_id FROM electrum_payments WHERE request_id = ? OR tran_id = ? ORDER BY created_at'),
    setPartner: db.prepare('UPDATE electrum_payments SET partner_id = ? WHERE payment_id = ?'),
    forwarded: db.prepare('UPDATE electrum_payments SET partner_id = ?, forwarded_at = ? WHERE payment_id = ?'),
    answered: db.prepare('UPDATE electrum_payments SET answered_at = ? WHERE payment_id = ? AND answered_at IS NULL'),
    setResponse: db.prepare('UPDATE electrum_payments SET response_status = ?, response_body = ? WHERE payment_id = ?'),
    setAdvice: db.prepare('UPDATE electrum_payments SET advice = ?, advice_id = ? WHERE payment_id = ? AND advice IS NULL'),
  };
  return {
    insertQr(row: Omit<QrCodeRow, 'state' | 'partnerId' | 'partnerPaymentToken' | 'scanId' | 'scannedAt'>): void {
      s.insertQr.run(row);
    },
    qr(tranId: string): QrCodeRow | null {
      return mapRow<QrCodeRow>(s.qr.get(tranId) as Row | undefined);
    },
    /** Moves a QR code from one state to the next; false if it was not in `from` (a race lost). */
    moveQr(tranId: string, from: QrState, state: QrState): boolean {
      return s.qrState.run({ tranId, from, state }).changes === 1;
    },
    recordScan(tranId: string, scan: { partnerId: string; token: string | null; scanId: string; at: number }): boolean {
      return s.qrScan.run({ tranId, partnerId: scan.partnerId, token: scan.token, scanId: scan.scanId, at: scan.at }).changes === 1;
    },
    /** The message `id` from `sender`: ids of different senders never meet. */
    message(sender: string, id: string): MessageRow | null {
      return mapRow<MessageRow>(s.message.get(sender, id) as Row | undefined);
    },
    insertMessage(m: MessageRow & { createdAt: number }): void {
      s.insertMessage.run(m);
    },
    /** Inserts the message unless its sender already used its id; true if this call inserted it (one statement, not a read and an insert). */
    claimMessage(m: MessageRow & { createdAt: number }): boolean {
      return s.claimMessage.run(m).changes === 1;
    },
    answerMessage(sender: string, id: string, status: number, body: unknown): void {
      s.answerMessage.run(status, body === undefined ? null : JSON.stringify(body), sender, id);
    },
    insertPayment(p: Pick<ElectrumPaymentRow, 'requestId' | 'partnerRequestId' | 'paymentId' | 'tranId' | 'clientId' | 'requestBody' | 'createdAt'>): void {
      s.insertPayment.run(p);
    },
    /** The pay a POS client sent with `requestId`: another client's is not found. */
    payment(clientId: string, requestId: string): ElectrumPaymentRow | null {
      return mapRow<ElectrumPaymentRow>(s.payment.get(clientId, requestId) as Row | undefined);
    },
    paymentByPaymentId(paymentId: string): ElectrumPaymentRow | null {
      return mapRow<ElectrumPaymentRow>(s.paymentByPaymentId.get(paymentId) as Row | undefined);
    },
    /** For an operator: the payments a POS request id (of any client) or a tranId names. */
    paymentIdsNamed(id: string): string[] {
      return (s.paymentIdsNamed.all(id, id) as Array<{ payment_id: string }>).map((r) => r.payment_id);
    },
    paymentByTran(tranId: string): ElectrumPaymentRow | null {
      return mapRow<ElectrumPaymentRow>(s.paymentByTran.get(tranId) as Row | undefined);
    },
    setPartner(paymentId: string, partnerId: string): void {
      s.setPartner.run(partnerId, paymentId);
    },
    /** Records that the pay went to `partnerId` at `at`: from now until it is answered, it is in flight. */
    markForwarded(paymentId: string, partnerId: string, at: number): void {
      s.forwarded.run(partnerId, at, paymentId);
    },
    /** Records that the forward has its answer (or that we gave up on it). */
    markAnswered(paymentId: string, at: number): void {
      s.answered.run(at, paymentId);
    },
    setResponse(paymentId: string, status: number, body: unknown): void {
      s.setResponse.run(status, JSON.stringify(body), paymentId);
    },
    /** Records the first advice (confirmation or reversal) of a payment; false if one was already recorded. */
    setAdvice(paymentId: string, advice: 'confirmed' | 'reversed', adviceId: string): boolean {
      return s.setAdvice.run(advice, adviceId, paymentId).changes === 1;
    },
  };
}

export type ElectrumRepository = ReturnType<typeof createElectrumRepository>;
