/**
 * Defects found by reading and by the simulator, as one-line mutations of today's code: each
 * puts one back. `npm run test:sim:mutants` applies each in a scratch worktree and shows that
 * the simulation finds it (a mutant that survives the seeds is a hole in the simulation).
 */
export interface Mutant {
  name: string;
  /** The defect, as its issue described it. */
  defect: string;
  file: string;
  find: string;
  replace: string;
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'advice-original-amounts',
    defect: '#11.1: partial advices reach the partner as full ones (the pay request\'s amounts are forwarded)',
    file: 'src/electrum/provider.ts',
    find: 'const amounts = finalMinor === null ? request.amounts : { ...request.amounts, approvedAmount: { amount: finalMinor, currency: requireNumeric(p.currency) } };',
    replace: 'const amounts = request.amounts;',
  },
  {
    name: 'electrum-void-never-sent',
    defect: '#11.2: a cancel or void of a forwarded Electrum payment never reaches the partner',
    file: 'src/electrum/provider.ts',
    find: 'const result = await reverse(p, ep, owed.key, reasonOf(owed.reason), null);',
    replace: "const result = { kind: 'success', status: 202, body: null } as PartnerResult<unknown>;",
  },
  {
    name: 'reversal-not-held',
    defect: '#11.3: a reversal racing the forwarded pay is sent at once (a 404 counts as done; the later approval stands)',
    file: 'src/electrum/provider.ts',
    find: '    if (ep.forwardedAt === null || ep.answeredAt !== null) return null;',
    replace: '    return null;',
  },
  {
    name: 'late-approval-reflagged',
    defect: '#11.7: a repeated approval re-flags (and refunds again) a late approval already resolved',
    file: 'src/payments/state-machine.ts',
    find: "if (p.approvedMinor !== null || p.attention === 'late_approval') return unchanged('late approval already recorded');",
    replace: "if (p.attention === 'late_approval') return unchanged('late approval already recorded');",
  },
  {
    name: 'refund-status-ignored',
    defect: "#11.8: a refund answer's own status is not read (declined or pending counted as refunded)",
    file: 'src/partpay/provider.ts',
    find: 'switch (refundStatus(answer.status)) {',
    replace: "switch ('succeeded' as string) {",
  },
  {
    name: 'partial-approval-as-full',
    defect: "#11.8: a partner's partial approval is recorded as full",
    file: 'src/electrum/pay-flow.ts',
    find: "{ type: 'provider_status', outcome: 'approved', approvedMinor: checked.approvedMinor, source: 'partner' }",
    replace: "{ type: 'provider_status', outcome: 'approved', source: 'partner' }",
  },
  {
    name: 'busy-advice-dead',
    defect: 'found by the simulator: an advice answered 429/502/503 becomes a dead letter instead of being resent',
    file: 'src/electrum/provider.ts',
    find: "result.kind === 'failed' && ![429, 502, 503].includes(result.status);",
    replace: "result.kind === 'failed';",
  },
];
