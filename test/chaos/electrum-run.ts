import type { ElectrumPartnerFaultsInput } from '../../src/simulator/electrum-partner/index.js';
import { settledMinor } from '../../src/simulator/electrum-partner/partner-ledger.js';
import { electrumPos, untilPayWaits } from '../support/electrum-pos.js';
import { startHarness, type Harness } from '../support/harness.js';
import { dice, pool, sleep, until } from './support.js';

export interface ElectrumScenarioResult {
  fault: string;
  payments: number;
  faultsInjected: number;
  injected: Record<string, number>;
  outcomes: Record<string, number>;
  posAnswers: Record<string, number>;
  reversalsDelivered: number;
  /** Pays the POS was told were approved (201). */
  approvals: number;
  durationMs: number;
  problems: string[];
}

/** Waves of `count` payments a scenario may run to reach its minimum of approvals. */
const MAX_WAVES = 3;

interface Tracked {
  index: number;
  amountMinor: number;
  requestId: string;
  tranId: string;
  payStatus: number;
  advice: 'confirm' | 'reverse' | null;
}

/**
 * One Electrum fault: `count` pay flows at once (createQrCode, held-open pay, the partner's
 * scan, then the POS's confirmation or reversal) against a partner injecting `faults`; the
 * outbox is drained, then tenderbridge's view is compared with the partner's.
 */
export async function runElectrumScenario(fault: string, faults: ElectrumPartnerFaultsInput, count: number, seed: number, minApprovals = 0): Promise<ElectrumScenarioResult> {
  const started = Date.now();
  const h = await startHarness({ electrum: { scanWaitSeconds: 3, partnerTimeoutSeconds: 1 }, config: { server: { shutdownGraceSeconds: 0.2 }, outbox: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 50 } } });
  try {
    const partner = (h.partners as NonNullable<Harness['partners']>).a;
    partner.setFaults(faults);
    const pos = electrumPos(h);
    const wave = (from: number) => pool(Array.from({ length: count }, (_, i) => from + i), 30, async (i): Promise<Tracked> => {
      const d = dice(seed * 1_000 + i);
      // Cents .51 are declined by the partner; .52 (never answered) is left out.
      const amountMinor = d.int(1, 400) * 100 + (d.next() < 0.15 ? 51 : d.int(0, 50));
      const code = await pos.createQrCode(pos.qrRequest(amountMinor));
      const request = pos.payRequest(code.body.tranId, amountMinor);
      const paying = pos.pay(request);
      await untilPayWaits(h, request.id);
      await sleep(d.int(0, 100));
      await partner.scan(code.body.qrCode).catch(() => undefined);
      const answer = await paying;
      const t: Tracked = { index: i, amountMinor, requestId: request.id, tranId: code.body.tranId, payStatus: answer.status, advice: null };
      if (answer.status === 201) {
        t.advice = d.next() < 0.75 ? 'confirm' : 'reverse';
        const advice = t.advice === 'confirm' ? await pos.confirm(pos.confirmation(request.id)) : await pos.reverse(pos.reversal(request.id, 'CANCELLED'));
        if (advice.status !== 202) throw new Error(`${t.advice} answered ${advice.status}`);
      }
      return t;
    });
    // Which payments the partner's faults hit depends on the order the concurrent pays reach it,
    // so a wave may leave too few approvals to check advices on: then another wave (at most
    // MAX_WAVES), its payments counted like the first's.
    const tracked: Tracked[] = [];
    for (let w = 0; w < MAX_WAVES && (w === 0 || tracked.filter((t) => t.payStatus === 201).length < minApprovals); w++) tracked.push(...(await wave(w * count)));
    const owed = async () => Number((await h.sql<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE state = 'pending'"))[0]?.n) === 0;
    await until(owed, () => h.daemon.deliverer.run(), 30_000);
    return await check(h, fault, tracked, started);
  } finally {
    await h.stop();
  }
}

async function check(h: Harness, fault: string, tracked: Tracked[], started: number): Promise<ElectrumScenarioResult> {
  const partner = (h.partners as NonNullable<Harness['partners']>).a;
  const problems: string[] = [];
  const outcomes: Record<string, number> = {};
  const posAnswers: Record<string, number> = {};
  const forwarded = new Map<string, number>();
  for (const m of partner.received().payments) {
    const tranId = (m.body as { tranId?: string }).tranId ?? '';
    forwarded.set(tranId, (forwarded.get(tranId) ?? 0) + 1);
  }
  for (const t of tracked) {
    const where = `${fault} #${t.index} (pay ${t.payStatus}, ${t.advice ?? 'no advice'})`;
    posAnswers[String(t.payStatus)] = (posAnswers[String(t.payStatus)] ?? 0) + 1;
    const [row] = await h.sql<{ state: string }>('SELECT p.state FROM electrum_payments e JOIN payments p ON p.id = e.payment_id WHERE e.request_id = ?', t.requestId);
    const state = row?.state ?? 'missing';
    outcomes[state] = (outcomes[state] ?? 0) + 1;
    const sent = forwarded.get(t.tranId) ?? 0;
    if (sent > 1) problems.push(`${where}: forwarded to the partner ${sent} times`);
    const payment = partner.payment(t.requestId);
    const held = payment?.state ?? 'none';
    // What reached the partner is what the POS asked for.
    if (payment && payment.amountMinor !== t.amountMinor) problems.push(`${where}: the partner holds a payment of ${String(payment.amountMinor)}, the POS asked ${t.amountMinor}`);
    if (payment?.state === 'confirmed' && settledMinor(payment) !== payment.approvedMinor) problems.push(`${where}: the partner settled ${settledMinor(payment)} of ${String(payment.approvedMinor)} approved`);
    const allowed: Record<string, string[]> = {
      approved: t.advice === 'confirm' ? ['confirmed'] : ['approved'],
      reversed: ['reversed', 'none'],
      declined: ['declined'],
      failed: ['reversed', 'none', 'declined'],
      expired: ['none'],
    };
    if (!(allowed[state] ?? []).includes(held)) problems.push(`${where}: tenderbridge ${state}, partner ${held}`);
    // What the POS was told must not contradict the partner's books at the end.
    if (t.payStatus === 201 && !['approved', 'confirmed', 'reversed'].includes(held)) problems.push(`${where}: POS told approved, partner ${held}`);
    if (t.payStatus !== 201 && (held === 'approved' || held === 'confirmed')) problems.push(`${where}: POS told ${t.payStatus}, partner still ${held}`);
  }
  const left = await h.sql<{ kind: string; state: string; last_error: string | null }>("SELECT kind, state, last_error FROM outbox WHERE state != 'done'");
  for (const r of left) problems.push(`${fault}: outbox ${r.kind} left ${r.state} (${r.last_error ?? ''})`);
  const view = partner.faults();
  return {
    fault,
    payments: tracked.length,
    faultsInjected: Object.values(view.injected).reduce((s, n) => s + n, 0),
    injected: view.injected,
    outcomes,
    posAnswers,
    reversalsDelivered: partner.received().reversals.filter((m) => m.status === 202).length,
    approvals: tracked.filter((t) => t.payStatus === 201).length,
    durationMs: Date.now() - started,
    problems,
  };
}
