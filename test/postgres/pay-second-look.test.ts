import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Repos, Store } from '../../src/storage/port.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { electrumPos } from '../support/electrum-pos.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// On PostgreSQL (several daemons: a scan is taken by whichever daemon the partner reaches, and
// accepted when the code's pay is committed) a held Electrum pay commits its payment,
// then registers its wait: a scan (or a cancel) taken in between, on this daemon or another, has
// already told the waiters and found nobody. The pay must not wait it out. Here the pay's
// transaction is answered late on purpose (the port holds its result), and the scan commits in
// that window; the pay is then answered at once, not when its scan wait (60 s) runs out.

/** Set to hold the result of the next transaction that records an Electrum pay, until `release()`. */
let gate: { held: boolean; release: () => void; until: Promise<void> } | null = null;

function holdingPayCommit(store: Store): Store {
  return {
    ...store,
    repos: store.repos,
    async tx<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
      let recordsPay = false;
      const value = await store.tx((r) =>
        fn({
          ...r,
          electrum: {
            ...r.electrum,
            insertPayment: (...args: Parameters<Repos['electrum']['insertPayment']>) => {
              recordsPay = true;
              return r.electrum.insertPayment(...args);
            },
          },
        }),
      );
      const armed = gate;
      if (recordsPay && armed) {
        gate = null;
        armed.held = true;
        await armed.until;
      }
      return value;
    },
  };
}

describeWhenAvailable('a held Electrum pay whose scan commits before its wait begins (PostgreSQL)', [tools.postgres()], () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend: 'postgres', electrum: { scanWaitSeconds: 60 }, wrapStore: holdingPayCommit });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('is forwarded at once, with the partner scan found by its second look', async () => {
    const pos = electrumPos(h);
    const code = (await pos.createQrCode(pos.qrRequest(1450))).body;
    let release = (): void => undefined;
    const armed = { held: false, release: () => release(), until: new Promise<void>((ok) => (release = ok)) };
    gate = armed;
    const request = pos.payRequest(code.tranId, 1450);
    const paying = pos.pay(request);
    // The pay is committed, its answer to the flow held back: the flow has not begun to wait.
    await eventually(() => armed.held);
    const scan = await h.partners!.a.scan(code.qrCode);
    expect(scan.status).toBe(202);
    armed.release();
    // A pay that missed the scan would wait its 60 s and the test would time out: answered at once instead.
    const answer = await paying;
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({ id: request.id, tranId: code.tranId, partner: { id: 'partner-a' } });
  }, 20_000);
});
