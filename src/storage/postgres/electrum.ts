import { mapRow, type ElectrumPaymentRow, type ElectrumRepository, type MessageRow, type QrCodeRow } from '../../electrum/repository.js';
import type { Queryable } from '../../shared/db/postgres/pool.js';
import type { Port } from '../port.js';
import { all, one, run } from './sql.js';

/**
 * The Electrum repository on PostgreSQL: the same methods and answers as the SQLite one
 * (src/electrum/repository.ts), on one connection or the pool (`q`). State moves are
 * conditional updates (`WHERE state = from`), so of two daemons racing one move, one wins.
 * @example await pgElectrumRepository(client).moveQr(tranId, 'issued', 'paying');
 */
export function pgElectrumRepository(q: Queryable): Port<ElectrumRepository> {
  const row = async <T>(sql: string, args: unknown[]): Promise<T | null> => mapRow<T>((await one(q, sql, args)) ?? undefined);
  return {
    async insertQr(r) {
      await run(
        q,
        `INSERT INTO electrum_qr_codes (tran_id, request_id, client_id, terminal_id, provider, scheme, qr_code, amount_minor, currency, payment_id, state, response_body, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'issued', $11, $12, $13)`,
        [r.tranId, r.requestId, r.clientId, r.terminalId, r.provider, r.scheme, r.qrCode, r.amountMinor, r.currency, r.paymentId, r.responseBody, r.createdAt, r.expiresAt],
      );
    },
    qr: (tranId) => row<QrCodeRow>('SELECT * FROM electrum_qr_codes WHERE tran_id = $1', [tranId]),
    async moveQr(tranId, from, state) {
      return (await run(q, 'UPDATE electrum_qr_codes SET state = $1 WHERE tran_id = $2 AND state = $3', [state, tranId, from])) === 1;
    },
    async recordScan(tranId, scan) {
      return (
        (await run(
          q,
          `UPDATE electrum_qr_codes SET state = 'scanned', partner_id = $1, partner_payment_token = $2, scan_id = $3, scanned_at = $4 WHERE tran_id = $5 AND state = 'paying'`,
          [scan.partnerId, scan.token, scan.scanId, scan.at, tranId],
        )) === 1
      );
    },
    message: (sender, id) => row<MessageRow>('SELECT * FROM electrum_messages WHERE sender = $1 AND id = $2', [sender, id]),
    async insertMessage(m) {
      await run(
        q,
        `INSERT INTO electrum_messages (sender, id, kind, request_hash, related_id, response_status, response_body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [m.sender, m.id, m.kind, m.requestHash, m.relatedId, m.responseStatus, m.responseBody, m.createdAt],
      );
    },
    async claimMessage(m) {
      return (
        (await run(
          q,
          `INSERT INTO electrum_messages (sender, id, kind, request_hash, related_id, response_status, response_body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (sender, id) DO NOTHING`,
          [m.sender, m.id, m.kind, m.requestHash, m.relatedId, m.responseStatus, m.responseBody, m.createdAt],
        )) === 1
      );
    },
    async answerMessage(sender, id, status, body) {
      await run(q, 'UPDATE electrum_messages SET response_status = $1, response_body = $2 WHERE sender = $3 AND id = $4', [status, body === undefined ? null : JSON.stringify(body), sender, id]);
    },
    async insertPayment(p) {
      await run(
        q,
        `INSERT INTO electrum_payments (client_id, request_id, partner_request_id, payment_id, tran_id, request_body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [p.clientId, p.requestId, p.partnerRequestId, p.paymentId, p.tranId, p.requestBody, p.createdAt],
      );
    },
    payment: (clientId, requestId) => row<ElectrumPaymentRow>('SELECT * FROM electrum_payments WHERE client_id = $1 AND request_id = $2', [clientId, requestId]),
    paymentByPaymentId: (paymentId) => row<ElectrumPaymentRow>('SELECT * FROM electrum_payments WHERE payment_id = $1', [paymentId]),
    async paymentIdsNamed(id) {
      // The first payment each id names, oldest first (SQLite's DISTINCT ... ORDER BY created_at).
      const rows = await all(q, 'SELECT payment_id FROM electrum_payments WHERE request_id = $1 OR tran_id = $1 GROUP BY payment_id ORDER BY min(created_at)', [id]);
      return rows.map((r) => r['payment_id'] as string);
    },
    paymentByTran: (tranId) => row<ElectrumPaymentRow>('SELECT * FROM electrum_payments WHERE tran_id = $1 ORDER BY created_at DESC LIMIT 1', [tranId]),
    async setPartner(paymentId, partnerId) {
      await run(q, 'UPDATE electrum_payments SET partner_id = $1 WHERE payment_id = $2', [partnerId, paymentId]);
    },
    async markForwarded(paymentId, partnerId, at) {
      await run(q, 'UPDATE electrum_payments SET partner_id = $1, forwarded_at = $2 WHERE payment_id = $3', [partnerId, at, paymentId]);
    },
    async markAnswered(paymentId, at) {
      await run(q, 'UPDATE electrum_payments SET answered_at = $1 WHERE payment_id = $2 AND answered_at IS NULL', [at, paymentId]);
    },
    async setResponse(paymentId, status, body) {
      await run(q, 'UPDATE electrum_payments SET response_status = $1, response_body = $2 WHERE payment_id = $3', [status, JSON.stringify(body), paymentId]);
    },
    async setAdvice(paymentId, advice, adviceId) {
      return (await run(q, 'UPDATE electrum_payments SET advice = $1, advice_id = $2 WHERE payment_id = $3 AND advice IS NULL', [advice, adviceId, paymentId])) === 1;
    },
  };
}
