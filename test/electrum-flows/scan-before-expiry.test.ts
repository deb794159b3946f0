import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Store } from '../../src/storage/port.js';
import { electrumPos, paymentIdOf } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';

// Found by the fleet suite (test/postgres/fleet.test.ts): a held pay whose scan was taken just
// before its scan wait ran out was expired by the expire job (on any daemon of a fleet) before
// the daemon holding the pay forwarded it: the wallet had been told 202, the POS heard "Payment
// expired", and the customer had to start again. A scan taken now gives the pay the time a
// forwarded one has, so the expire job leaves it to the daemon holding it.

/** Forward's look at the scanned code waits for `release`: the moment between the scan's commit and the forward, held open. */
let release: () => void = () => undefined;
let holding = false;
let held = false;

function holdingForward(store: Store): Store {
  const electrum = store.repos.electrum;
  return {
    ...store,
    repos: {
      ...store.repos,
      electrum: {
        ...electrum,
        async qr(tranId) {
          const row = await electrum.qr(tranId);
          if (holding && row?.state === 'scanned') {
            holding = false;
            held = true;
            await new Promise<void>((resolve) => (release = resolve));
          }
          return row;
        },
      },
    },
    tx: (fn) => store.tx(fn),
    settled: () => store.settled(),
    afterCommit: (fn) => store.afterCommit(fn),
  };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ electrum: { scanWaitSeconds: 2, partnerTimeoutSeconds: 1 }, wrapStore: holdingForward });
});
afterAll(async () => {
  release();
  await h.stop();
});

/** A pay of `amountMinor`, scanned by partner A, and held at the forward's look at its code until `release()`. */
async function scannedAndHeld(amountMinor: number) {
  const pos = electrumPos(h);
  const partner = (h.partners as NonNullable<Harness['partners']>).a;
  const code = (await pos.createQrCode(pos.qrRequest(amountMinor))).body;
  const request = pos.payRequest(code.tranId, amountMinor);
  held = false;
  holding = true;
  const paying = pos.pay(request);
  await eventually(async () => (await h.daemon.store.repos.electrum.payment(ELECTRUM.pos.id, request.id)) !== null, 10_000, 10);
  expect((await partner.scan(code.qrCode))?.status).toBe(202);
  await eventually(() => held, 10_000, 10);
  return { partner, request, paying };
}

it('forwards a pay whose scan was taken in time, though its scan wait ran out before the forward', async () => {
  const { partner, request, paying } = await scannedAndHeld(1500);
  // The scan wait is over by now (the daemon's clock), and the expire job runs before the forward.
  h.advanceClock(3_000);
  await h.daemon.core.reconciler.expireDue();
  release();
  const answer = await paying;
  expect(answer.status, answer.text).toBe(201);
  expect(partner.payment(request.id)?.state).toBe('approved');
});

it('tells the POS of a pay cancelled after its scan, before its forward, that nothing reached the partner (not "before a scan")', async () => {
  const { partner, request, paying } = await scannedAndHeld(1600);
  // The till cancels in the moment between the scan and the forward.
  const cancelled = await call<{ state: string }>(`${h.url}/v1/payments/${await paymentIdOf(h, request.id)}/cancel`, { headers: h.auth(1), json: {} });
  expect(cancelled.status, cancelled.text).toBe(200);
  expect(cancelled.body.state).toBe('cancelled');
  release();
  const answer = await paying;
  expect(answer.status, answer.text).toBe(400);
  expect(answer.body).toMatchObject({ errorType: 'GENERAL_ERROR', errorMessage: 'Payment cancelled', detailMessage: { message: 'the payment was cancelled after the scan, before the partner was asked: nothing reached the partner' } });
  expect(partner.payment(request.id)).toBeFalsy();
});
