/**
 * The amounts whose cents decide what the sandbox does, as the simulators implement them
 * (PartPay: `autoDecideAfterMs` in src/simulator/partpay/simulator.ts; Electrum: the partner's
 * default `behaviour` in src/simulator/electrum-partner/options.ts). One table for `--help`
 * and the README.
 */
export const MAGIC_AMOUNTS: ReadonlyArray<{ cents: string; partpay: string; electrum: string }> = [
  { cents: '.51', partpay: 'declined by the customer', electrum: 'declined by the partner (400 DECLINED_BY_PARTNER)' },
  { cents: '.52', partpay: 'never decided: the order expires (order TTL)', electrum: 'never answered: the payment times out and is reversed' },
  { cents: '.53', partpay: 'approved', electrum: 'partially approved: half the amount, rounded down' },
  { cents: 'any other', partpay: 'approved', electrum: 'approved' },
];

/**
 * The magic amounts as plain text lines for `--help`.
 * @example magicAmountsText().includes('.51') // true
 */
export function magicAmountsText(): string {
  const width = Math.max(...MAGIC_AMOUNTS.map((m) => m.cents.length));
  const lines = MAGIC_AMOUNTS.map((m) => `  ${m.cents.padEnd(width)}  PartPay: ${m.partpay}; Electrum: ${m.electrum}`);
  return ['Magic amounts (the cents of the amount decide; e.g. 10.51 declines):', ...lines].join('\n');
}
