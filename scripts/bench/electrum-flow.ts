import { randomUUID } from 'node:crypto';
import type { HttpClient } from './http-client.js';
import { sleep } from './loop.js';
import { monoMs } from './stats.js';

/** One Electrum flow: createQrCode, pay held open, the partner's scan, forward, confirm. */
export interface ElectrumFlow {
  flowMs: number;
  /** Scan sent (by the partner simulator) to pay answered. */
  scanToPayMs: number;
  scanRetries: number;
  end: number;
}

/**
 * A POS speaking Electrum QR v1.7.0: it creates a code, sends `pay` (held open by the
 * daemon), and after `scanDelayMs` (the customer opening the wallet, like the PartPay
 * simulator's decision delay) the partner simulator scans; the daemon forwards the
 * payment to the partner, answers `pay`, and the POS confirms.
 */
export function electrumFlow(daemon: HttpClient, partner: HttpClient, pos: { id: string; password: string; terminal: string }, scanDelayMs: number) {
  const headers = { authorization: `Basic ${Buffer.from(`${pos.id}:${pos.password}`).toString('base64')}`, 'content-type': 'application/json' };
  const originator = {
    institution: { id: '4021', name: 'Bench Grocers Ltd' },
    terminalId: pos.terminal,
    merchant: { merchantType: '5411', merchantId: '000000012345678', merchantName: { name: 'Bench Grocers', city: 'Auckland', region: 'AK', country: 'NZ' } },
  };
  const client = { id: pos.id, name: 'Bench POS' };
  const thirdPartyIdentifiers = [{ institutionId: '4021', transactionIdentifier: 'till-1' }];
  const now = () => new Date().toISOString();
  const post = (path: string, body: unknown) => daemon.send('POST', `/qr/v1${path}`, headers, JSON.stringify(body));

  return async (_worker: number, seq: number): Promise<ElectrumFlow> => {
    const amount = 1000 + (seq % 50);
    const t0 = monoMs();
    const created = await post('/qrCodes', { id: randomUUID(), time: now(), originator, client, qrProperties: { value: { amount, currency: '554' } } });
    if (created.status !== 201) throw new Error(`createQrCode answered ${created.status}: ${created.body.toString('utf8').slice(0, 200)}`);
    const code = daemon.json<{ tranId: string; qrCode: string }>(created);
    const request = { id: randomUUID(), time: now(), originator, client, thirdPartyIdentifiers, amounts: { requestAmount: { amount, currency: '554' } }, tranId: code.tranId, tranType: 'GOODS_AND_SERVICES' };
    const paying = post('/payments', request);
    await sleep(scanDelayMs);
    let retries = 0;
    let scannedAt = monoMs();
    for (;;) {
      scannedAt = monoMs();
      const scan = await partner.send('POST', '/sim/scan', { 'content-type': 'application/json' }, JSON.stringify({ qrCode: code.qrCode }));
      const status = scan.status === 200 ? partner.json<{ status: number }>(scan).status : scan.status;
      if (status === 202) break;
      // 400 while the daemon has not yet registered the held-open pay: the customer scans again.
      if (++retries > 50) throw new Error(`scan kept failing (${status}): ${scan.body.toString('utf8').slice(0, 200)}`);
      await sleep(10);
    }
    const paid = await paying;
    const payAt = monoMs();
    if (paid.status !== 201) throw new Error(`pay answered ${paid.status}: ${paid.body.toString('utf8').slice(0, 200)}`);
    const confirmed = await post('/payments/confirmations', { id: randomUUID(), requestId: request.id, time: now(), thirdPartyIdentifiers });
    if (confirmed.status !== 202) throw new Error(`confirmation answered ${confirmed.status}: ${confirmed.body.toString('utf8').slice(0, 200)}`);
    const end = monoMs();
    return { flowMs: end - t0, scanToPayMs: payAt - scannedAt, scanRetries: retries, end };
  };
}
