import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LEASE_MS } from '../../src/outbox/deliverer.js';
import { settledMinor } from '../../src/simulator/electrum-partner/partner-ledger.js';
import { fillDatabase } from '../support/database-full.js';
import { electrumPos, paymentIdOf, untilPayWaits } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type JsonResponse } from '../support/http.js';

// The same scenarios through both providers, with every party real: a POS speaking Electrum
// QR v1.7.0, tenderbridge, and upstream either an Electrum partner (the partner simulator) or
// PartPay (the PartPay simulator, through the Electrum bridge). Each scenario ends with three
// ledgers agreeing on what the customer pays: what the POS was told (and then advised), what
// tenderbridge holds, and what the upstream holds.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ electrum: { scanWaitSeconds: 3, partnerTimeoutSeconds: 1 } });
});
afterAll(async () => {
  await h.stop();
});

const partner = () => h.partners?.a as NonNullable<Harness['partners']>['a'];
type Pos = ReturnType<typeof electrumPos>;

/** One sale at a POS: its pay request, the held pay's answer to come, and the upstream's reference. */
interface Sale {
  pos: Pos;
  request: ReturnType<Pos['payRequest']>;
  paying: Promise<JsonResponse>;
  upstreamRef: string;
  amountMinor: number;
  qrCode: string;
}

/** How a scenario drives one provider: start a sale, let the customer pay, read the upstream ledger. */
interface Side {
  name: 'electrum' | 'partpay';
  /** Bearer headers of the till (for /v1). */
  auth: () => Record<string, string>;
  start(amountMinor: number): Promise<Sale>;
  customerPays(sale: Sale): Promise<void>;
  /** What the upstream holds as taken from the customer for this sale. */
  upstreamSettled(sale: Sale): number;
}

async function startSale(pos: Pos, amountMinor: number, upstreamRef: (qrCode: string, requestId: string) => string): Promise<Sale> {
  const code = await pos.createQrCode(pos.qrRequest(amountMinor));
  expect(code.status, code.text).toBe(201);
  const request = pos.payRequest(code.body.tranId, amountMinor);
  const paying = pos.pay(request);
  await untilPayWaits(h, request.id);
  return { pos, request, paying, upstreamRef: upstreamRef(code.body.qrCode, request.id), amountMinor, qrCode: code.body.qrCode };
}

const electrum: Side = {
  name: 'electrum',
  auth: () => h.auth(1),
  start: (amountMinor) => startSale(electrumPos(h), amountMinor, (_qr, requestId) => requestId),
  async customerPays(sale) {
    expect((await partner().scan(sale.qrCode)).status).toBe(202);
  },
  upstreamSettled(sale) {
    const held = partner().payment(sale.upstreamRef);
    return held ? settledMinor(held) : 0;
  },
};

const partpay: Side = {
  name: 'partpay',
  auth: () => h.auth(2),
  start: (amountMinor) => startSale(electrumPos(h, ELECTRUM.posPartPay), amountMinor, (qr) => qr.split('/').pop() as string),
  async customerPays(sale) {
    await h.sim.approve(sale.upstreamRef);
  },
  upstreamSettled(sale) {
    const order = h.sim.orders().find((o) => o.orderId === sale.upstreamRef);
    if (!order || order.status !== 'approved') return 0;
    return order.amountCents - order.refunds.filter((r) => r.status === 'succeeded').reduce((a, r) => a + r.amountCents, 0);
  },
};

/** What tenderbridge holds as charged for the sale (its /v1 view). */
async function ours(side: Side, sale: Sale): Promise<number> {
  const res = await call<{ settledMinor: number }>(`${h.url}/v1/payments/${await paymentId(sale)}`, { headers: side.auth() });
  expect(res.status, res.text).toBe(200);
  return res.body.settledMinor;
}

const paymentId = (sale: Sale) => paymentIdOf(h, sale.request.id);

/** What the POS was told it took: the pay's approved amount, or nothing. */
function told(answer: JsonResponse): number {
  if (answer.status !== 201) return 0;
  return (answer.body as { amounts: { approvedAmount: { amount: number } } }).amounts.approvedAmount.amount;
}

/** Delivers what is owed until the three ledgers agree on `expected`; fails with all three if they never do. */
async function agree(side: Side, sale: Sale, posSays: number, expected: number): Promise<void> {
  let last = { pos: posSays, tenderbridge: -1, upstream: -1 };
  try {
    await eventually(async () => {
      await h.daemon.deliverer.run();
      last = { pos: posSays, tenderbridge: await ours(side, sale), upstream: side.upstreamSettled(sale) };
      return last.tenderbridge === expected && last.upstream === expected;
    }, 8_000);
  } finally {
    expect(last).toEqual({ pos: expected, tenderbridge: expected, upstream: expected });
  }
  expect((await h.daemon.store.repos.outbox.ofPayment(await paymentId(sale))).filter((o) => o.state !== 'done')).toEqual([]);
}

describe.each([electrum, partpay])('through $name', (side) => {
  it('a cancel before the customer pays ends the held pay, and nobody is charged', async () => {
    const sale = await side.start(1000);
    const cancelled = await call(`${h.url}/v1/payments/${await paymentId(sale)}/cancel`, { headers: side.auth(), json: {} });
    expect(cancelled.status, cancelled.text).toBe(200);
    const answer = await sale.paying;
    expect(answer.status).toBe(400);
    await agree(side, sale, told(answer), 0);
  });

  it('a cancel after the customer paid is refused (refund it instead), and the confirmed sale stands', async () => {
    const sale = await side.start(1100);
    await side.customerPays(sale);
    const answer = await sale.paying;
    expect(answer.status, answer.text).toBe(201);
    const cancelled = await call<{ error: { code: string } }>(`${h.url}/v1/payments/${await paymentId(sale)}/cancel`, { headers: side.auth(), json: {} });
    expect([cancelled.status, cancelled.body.error.code]).toEqual([409, 'already_approved']);
    expect((await sale.pos.confirm(sale.pos.confirmation(sale.request.id))).status).toBe(202);
    await agree(side, sale, told(answer), 1100);
  });

  it('a reversal to a final amount gives back only the difference', async () => {
    const sale = await side.start(1000);
    await side.customerPays(sale);
    const answer = await sale.paying;
    expect(told(answer)).toBe(1000);
    const reversal = { ...sale.pos.reversal(sale.request.id, 'CANCELLED'), amounts: { approvedAmount: { amount: 600, currency: '554' } } };
    expect((await sale.pos.reverse(reversal)).status).toBe(202);
    await agree(side, sale, 600, 600);
  });

  it('an approval that lands after the POS reversed is undone upstream', async () => {
    // The upstream is slow or unreachable when the POS reverses; the customer's approval lands after.
    const sale = await side.start(1200);
    if (side.name === 'electrum') partner().setFaults({ late: 1, lateMs: 600 });
    else h.sim.setFaults({ api: { error5xx: 1 } });
    try {
      if (side.name === 'electrum') {
        await side.customerPays(sale);
        await eventually(() => partner().payment(sale.upstreamRef) !== undefined);
      }
      expect((await sale.pos.reverse(sale.pos.reversal(sale.request.id, 'CANCELLED'))).status).toBe(202);
      if (side.name === 'partpay') await side.customerPays(sale);
      const answer = await sale.paying;
      expect(answer.status).not.toBe(201);
      expect(told(answer)).toBe(0);
    } finally {
      partner().setFaults({});
      h.sim.setFaults({});
    }
    await agree(side, sale, 0, 0);
  });

  it('a crash between the upstream call and our commit loses nothing and does nothing twice', async () => {
    const sale = await side.start(1000);
    await side.customerPays(sale);
    expect(told(await sale.paying)).toBe(1000);
    const reversal = { ...sale.pos.reversal(sale.request.id, 'CANCELLED'), amounts: { approvedAmount: { amount: 700, currency: '554' } } };
    // The disk is full when the owed reversal (or refund) goes out: upstream acts, our record of it fails.
    const free = await fillDatabase(h);
    let freed = false;
    try {
      expect((await sale.pos.reverse(reversal)).status).toBe(503);
      await free();
      freed = true;
      expect((await sale.pos.reverse(reversal)).status).toBe(202);
      const release = await fillDatabase(h);
      try {
        await h.daemon.deliverer.run();
        expect(side.upstreamSettled(sale)).toBe(700);
        expect(await ours(side, sale)).toBe(1000);
      } finally {
        await release();
      }
    } finally {
      if (!freed) await free();
    }
    // The process state is thrown away; the daemon comes back on the same database and finishes it.
    await h.restart();
    // On PostgreSQL the owed row stays claimed by the daemon that went away until its lease runs
    // out (so that no live daemon's attempt is doubled); then the daemon that came back takes it.
    // SQLite has no lease: its daemon takes the row at once.
    if (h.backend === 'postgres') h.advanceClock(DEFAULT_LEASE_MS);
    await agree(side, sale, 700, 700);
    if (side.name === 'partpay') expect(h.sim.getOrder(sale.upstreamRef)?.refunds.map((r) => r.amountCents)).toEqual([300]);
    else expect(new Set(partner().received().reversals.filter((m) => (m.body as { requestId: string }).requestId === sale.request.id).map((m) => (m.body as { id: string }).id)).size).toBe(1);
  });
});
