import { afterAll, describe, expect, it } from 'vitest';
import type { PartPayFaultsInput } from '../../src/simulator/partpay/index.js';
import { runElectrumScenario, type ElectrumScenarioResult } from './electrum-run.js';
import { runPartPayScenario, type ScenarioResult } from './partpay-run.js';
import { recordSummary, SCALE, SEED } from './support.js';

// The fault matrix: for each fault the simulators can inject (and all of them at once), many
// concurrent payments; afterwards every payment must agree with what PartPay or the partner
// holds, no terminal may have been told a contradicting outcome, nothing may be charged
// twice, and nothing owed may be left undelivered. `CHAOS_SCALE` multiplies the counts.

const PER_FAULT = Math.round(30 * SCALE);
const ELECTRUM_PER_FAULT = Math.round(10 * SCALE);

const PARTPAY_FAULTS: Record<string, PartPayFaultsInput> = {
  'callbacks.drop': { callbacks: { drop: 0.5 } },
  'callbacks.duplicate': { callbacks: { duplicate: 0.5 } },
  'callbacks.delay': { callbacks: { delay: 0.5, delayMs: { min: 100, max: 1_500 } } },
  'callbacks.reorder': { callbacks: { reorder: 0.5 } },
  'callbacks.badSignature': { callbacks: { badSignature: 0.4 } },
  'api.5xx': { api: { error5xx: 0.25 } },
  'api.429': { api: { rateLimit: 0.2, retryAfterSeconds: 1 } },
  'api.slow': { api: { slow: 0.2, slowMs: 1_200 } },
  'api.reset': { api: { reset: 0.2 } },
  'token.error': { token: { error: 0.5 } },
  'token.earlyExpiry': { token: { earlyExpiry: 0.5, earlyExpirySeconds: 0.3 } },
  all: {
    callbacks: { drop: 0.15, duplicate: 0.15, delay: 0.15, delayMs: { min: 100, max: 1_500 }, reorder: 0.15, badSignature: 0.1 },
    api: { error5xx: 0.08, rateLimit: 0.05, retryAfterSeconds: 1, slow: 0.05, slowMs: 1_200, reset: 0.05 },
    token: { error: 0.2, earlyExpiry: 0.2, earlyExpirySeconds: 0.3 },
  },
};

/**
 * What each scenario must have injected, by the simulator's names: every group at least once,
 * a group being satisfied by any of its faults. `all` needs each family it mixes.
 */
const PARTPAY_INJECTED: Record<string, string[][]> = {
  'callbacks.drop': [['callbacks.drop']],
  'callbacks.duplicate': [['callbacks.duplicate']],
  'callbacks.delay': [['callbacks.delay']],
  'callbacks.reorder': [['callbacks.reorder']],
  'callbacks.badSignature': [['callbacks.badSignature']],
  'api.5xx': [['api.error5xx']],
  'api.429': [['api.rateLimit']],
  'api.slow': [['api.slow']],
  'api.reset': [['api.reset']],
  'token.error': [['token.error']],
  'token.earlyExpiry': [['token.earlyExpiry']],
  all: [
    ['callbacks.drop', 'callbacks.duplicate', 'callbacks.delay', 'callbacks.reorder', 'callbacks.badSignature'],
    ['api.error5xx', 'api.rateLimit', 'api.slow', 'api.reset'],
    ['token.error', 'token.earlyExpiry'],
  ],
};

/** The groups of `expected` none of whose faults were injected. */
const notInjected = (expected: string[][] | undefined, injected: Record<string, number>): string[] =>
  (expected ?? [[]]).filter((group) => !group.some((kind) => Number(injected[kind]) > 0)).map((group) => group.join('|') || 'anything');

const results: ScenarioResult[] = [];
const electrumResults: ElectrumScenarioResult[] = [];

afterAll(async () => {
  const line = (r: { fault: string; payments: number; faultsInjected: number; injected: Record<string, number>; outcomes: Record<string, number>; problems: string[]; durationMs: number }) =>
    `${r.fault.padEnd(24)} payments ${String(r.payments).padStart(4)}  faults ${String(r.faultsInjected).padStart(4)} ${JSON.stringify(r.injected)}  ${r.problems.length === 0 ? 'consistent' : `${r.problems.length} PROBLEMS`}  ${JSON.stringify(r.outcomes)}  ${(r.durationMs / 1000).toFixed(1)} s`;
  for (const r of [...results, ...electrumResults]) console.log(`[chaos] ${line(r)}`);
  const total = (rs: Array<{ payments: number; faultsInjected: number; problems: string[] }>) => ({
    payments: rs.reduce((s, r) => s + r.payments, 0),
    faultsInjected: rs.reduce((s, r) => s + r.faultsInjected, 0),
    problems: rs.reduce((s, r) => s + r.problems.length, 0),
  });
  await recordSummary('faultMatrix', {
    scale: SCALE,
    seed: SEED,
    partpay: { ...total(results), scenarios: results.map(({ problems, ...r }) => ({ ...r, problems: problems.length })) },
    electrum: { ...total(electrumResults), scenarios: electrumResults.map(({ problems, ...r }) => ({ ...r, problems: problems.length })) },
  });
});

describe('PartPay fault matrix: payments end as PartPay holds them, whatever fails in between', () => {
  for (const [index, [fault, faults]] of Object.entries(PARTPAY_FAULTS).entries()) {
    it(`${fault}: ${PER_FAULT} concurrent payments stay consistent`, { timeout: 120_000 * SCALE }, async () => {
      const result = await runPartPayScenario(fault, { seed: SEED + index, ...faults }, PER_FAULT, SEED + index);
      results.push(result);
      expect(result.problems).toEqual([]);
      // A scenario whose fault never fired would pass for nothing.
      expect(notInjected(PARTPAY_INJECTED[fault], result.injected), `faults never injected (injected: ${JSON.stringify(result.injected)})`).toEqual([]);
    });
  }
});

const PARTNER_500S = ['pay.error500', 'confirmations.error500', 'reversals.error500'];
const ELECTRUM_INJECTED: Record<string, string[][]> = {
  'partner.late': [['pay.late']],
  'partner.twice': [['scan.twice']],
  'partner.500': [['pay.error500']],
  'partner.all': [['pay.late'], ['scan.twice'], PARTNER_500S],
};
/**
 * Approvals (201 to the POS) an Electrum run must have, so that advices of approved payments are
 * checked at all: a fifth of its payments, at least 2. A wave short of it is followed by another
 * (the faults a wave meets depend on the order its pays reach the partner), at most three.
 */
const MIN_ELECTRUM_APPROVALS = Math.max(2, Math.ceil(ELECTRUM_PER_FAULT / 5));

const ELECTRUM_FAULTS = {
  'partner.late': { late: 0.4, lateMs: 1_500 },
  'partner.twice': { twice: 0.5 },
  'partner.500': { error500: 0.3 },
  'partner.all': { late: 0.15, lateMs: 1_500, twice: 0.2, error500: 0.15 },
};

describe('Electrum partner fault matrix: the POS, tenderbridge and the partner agree', () => {
  for (const [index, [fault, faults]] of Object.entries(ELECTRUM_FAULTS).entries()) {
    it(`${fault}: waves of ${ELECTRUM_PER_FAULT} concurrent Electrum payments stay consistent`, { timeout: 120_000 * SCALE }, async () => {
      const result = await runElectrumScenario(fault, { seed: SEED + 100 + index, ...faults }, ELECTRUM_PER_FAULT, SEED + 100 + index, MIN_ELECTRUM_APPROVALS);
      electrumResults.push(result);
      expect(result.problems).toEqual([]);
      expect(notInjected(ELECTRUM_INJECTED[fault], result.injected), `faults never injected (injected: ${JSON.stringify(result.injected)})`).toEqual([]);
      expect(result.approvals, `POS answers ${JSON.stringify(result.posAnswers)}`).toBeGreaterThanOrEqual(MIN_ELECTRUM_APPROVALS);
    });
  }
});
