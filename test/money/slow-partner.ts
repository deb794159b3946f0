import { expect } from 'vitest';
import { electrumPos, paymentIdOf, untilPayWaits } from '../support/electrum-pos.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';

/**
 * A harness whose partners take 700 ms to answer a pay (within their 3 s timeout), and one
 * Electrum payment of 1000 held at partner A: scanned, forwarded, not answered yet.
 */
export async function paymentHeldAtPartner() {
  const h = await startHarness({ electrum: { scanWaitSeconds: 3, partnerTimeoutSeconds: 3, behaviour: { responseDelayMs: 700 } } });
  const pos = electrumPos(h);
  const partner = h.partners?.a as NonNullable<Harness['partners']>['a'];
  const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
  const request = pos.payRequest(code.tranId, 1000);
  const paying = pos.pay(request);
  await untilPayWaits(h, request.id);
  expect((await partner.scan(code.qrCode)).status).toBe(202);
  await eventually(() => partner.payment(request.id) !== undefined);
  const paymentId = await paymentIdOf(h, request.id);
  return { h, pos, partner, request, paying, paymentId };
}
