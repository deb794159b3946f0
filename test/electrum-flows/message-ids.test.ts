import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessConfig, runTb, tempDir } from '../cli/support.js';
import { electrumPos, untilPayWaits } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

// Issue 17 item 10: message ids were one global namespace, so another client's `id` answered
// DUPLICATE_RECORD: an oracle telling one party which ids another used, and a way to claim ids
// first and block its messages. Ids are now scoped per sender; towards a partner, where all our
// POS clients are one sender, a colliding id is replaced by one of ours.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ electrum: { secondPos: true } });
});
afterAll(async () => {
  await h.stop();
});

const partnerA = () => (h.partners as NonNullable<Harness['partners']>).a;
type Received = { id: string; requestId?: string; tranId?: string };
const bodies = (kind: 'payments' | 'confirmations' | 'reversals') => partnerA().received()[kind].map((m) => m.body as Received);

describe('message ids are scoped per sender', () => {
  it("does not answer DUPLICATE_RECORD for another client's createQrCode id, and still does for the client's own", async () => {
    const pos = electrumPos(h);
    const other = electrumPos(h, ELECTRUM.posPartPay);
    const id = randomUUID();
    expect((await pos.createQrCode({ ...pos.qrRequest(1000), id })).status).toBe(201);
    const theirs = await other.createQrCode({ ...other.qrRequest(1000), id });
    expect(theirs.status, theirs.text).toBe(201);
    expect((await pos.createQrCode({ ...pos.qrRequest(1000), id })).body).toMatchObject({ errorType: 'DUPLICATE_RECORD' });
  });

  it("forwards a pay whose id is another payment's PartPay order id under an id of ours, so the id names one payment", async () => {
    const partpay = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 700, currency: 'NZD', merchantReference: 'R-order-id' } });
    expect(partpay.status, partpay.text).toBe(201);
    const orderId = partpay.body.partpay?.orderId as string;
    expect(orderId).toBeTruthy();
    const pos = electrumPos(h);
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const paying = pos.pay({ ...pos.payRequest(code.tranId), id: orderId });
    await untilPayWaits(h, orderId, ELECTRUM.pos.id);
    expect((await partnerA().scan(code.qrCode))?.status).toBe(202);
    const answer = await paying;
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({ id: orderId, tranId: code.tranId });
    const forwarded = bodies('payments').filter((b) => b.tranId === code.tranId);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]?.id).not.toBe(orderId);
  });

  it('takes the same pay and advice ids from two POS clients paying through one partner, and the partner sees each payment once', async () => {
    const first = electrumPos(h);
    const second = electrumPos(h, ELECTRUM.pos2);
    const payId = randomUUID();
    const adviceId = randomUUID();
    const paid: string[] = [];
    for (const [pos, who] of [[first, ELECTRUM.pos], [second, ELECTRUM.pos2]] as const) {
      const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
      const paying = pos.pay({ ...pos.payRequest(code.tranId), id: payId });
      await untilPayWaits(h, payId, who.id);
      expect((await partnerA().scan(code.qrCode))?.status).toBe(202);
      const answer = await paying;
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body).toMatchObject({ id: payId, tranId: code.tranId });
      paid.push(code.tranId);
      const advice = { ...pos.confirmation(payId), id: adviceId };
      const confirmed = await pos.confirm(advice);
      expect(confirmed.status, confirmed.text).toBe(202);
      expect(confirmed.body).toMatchObject({ id: adviceId, requestId: payId });
      // the sender's repeat (store-and-forward) is answered as the first time
      const again = await pos.confirm(advice);
      expect([again.status, again.body]).toEqual([202, confirmed.body]);
    }
    // the partner got two payments with two different ids (the first as the POS sent it)...
    const forwarded = bodies('payments').filter((b) => paid.includes(b.tranId as string));
    expect(forwarded).toHaveLength(2);
    expect(new Set(forwarded.map((b) => b.id)).size).toBe(2);
    expect(forwarded[0]?.id).toBe(payId);
    // ...and one confirmation for each, each naming its own payment
    await eventually(() => bodies('confirmations').filter((b) => forwarded.some((f) => f.id === b.requestId)).length === 2);
    const confirmations = bodies('confirmations').filter((b) => forwarded.some((f) => f.id === b.requestId));
    expect(new Set(confirmations.map((c) => c.requestId)).size).toBe(2);
    expect(new Set(confirmations.map((c) => c.id)).size).toBe(2);
    expect(forwarded.map((f) => partnerA().payment(f.id)?.state)).toEqual(['confirmed', 'confirmed']);
    // An operator finds each by its tranId, the second by the id the partner knows it by, and is told the shared POS id names both.
    const dir = tempDir();
    try {
      // The CLI on the harness's database, whichever it is (PostgreSQL's URL from the environment, as deployed).
      const config = harnessConfig(h, dir, {}, h.databaseUrl ? { database: { kind: 'postgres', url: { env: 'TB_TEST_DATABASE_URL' } } } : {});
      const env = h.databaseUrl ? { TB_TEST_DATABASE_URL: h.databaseUrl } : {};
      const shown = async (id: string) => {
        const run = await runTb(['payments', 'show', id, '--json', '--config', config], { env });
        expect(run.code, run.stderr).toBe(0);
        return (JSON.parse(run.stdout) as { payment: { id: string } }).payment.id;
      };
      const byTran = [await shown(paid[0] as string), await shown(paid[1] as string)];
      expect(new Set(byTran).size).toBe(2);
      // the second went to the partner under an id of ours, which names it alone
      expect(await shown(forwarded[1]?.id as string)).toBe(byTran[1]);
      const ambiguous = await runTb(['payments', 'show', payId, '--config', config], { env });
      expect(ambiguous.code).toBe(1);
      expect(ambiguous.stderr).toContain(`${payId} names 2 Electrum payments`);
      for (const id of byTran) expect(ambiguous.stderr).toContain(id);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets an advice name only the sender's own payment, whatever ids the others use", async () => {
    const first = electrumPos(h);
    const second = electrumPos(h, ELECTRUM.pos2);
    const code = (await first.createQrCode(first.qrRequest(1000))).body;
    const request = first.payRequest(code.tranId);
    const paying = first.pay(request);
    await untilPayWaits(h, request.id, ELECTRUM.pos.id);
    await partnerA().scan(code.qrCode);
    expect((await paying).status).toBe(201);
    const reversal = await second.reverse(second.reversal(request.id));
    expect(reversal.status).toBe(404);
    expect(reversal.body).toMatchObject({ errorType: 'UNABLE_TO_LOCATE_RECORD' });
    expect((await first.confirm(first.confirmation(request.id))).status).toBe(202);
  });
});
