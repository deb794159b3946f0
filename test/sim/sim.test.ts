import { describe, expect, it } from 'vitest';
import { runSeed } from './run.js';

// The deterministic simulation (test/sim/run.ts): seeded runs of the real daemon among its
// peers, with faults, crashes and the invariants checked against the peers' ledgers. `npm test`
// runs SIM_SEEDS seeds (default 150); `npm run test:sim -- --seeds=N` runs many more.
const seeds = Number(process.env['SIM_SEEDS'] ?? 150);
const from = Number(process.env['SIM_FROM'] ?? 1);

describe('the deterministic simulation', () => {
  it(`keeps every invariant over ${seeds} seeded runs (seeds ${from}..${from + seeds - 1})`, { timeout: 30 * 60_000 }, async () => {
    const failures: string[] = [];
    let payments = 0;
    let crashes = 0;
    for (let seed = from; seed < from + seeds; seed += 1) {
      const result = await runSeed({ seed });
      payments += result.stats.payments;
      crashes += result.stats.crashes;
      if (result.problems.length > 0) failures.push(`seed ${seed}: ${result.problems.slice(0, 5).join('; ')}\n  replay: npm run test:sim -- --seed=${seed} --trace`);
    }
    console.log(`simulation: ${seeds} seeds, ${payments} payments, ${crashes} crashes, ${failures.length} failing`);
    expect(failures).toEqual([]);
  });

  it('replays a seed exactly: the same run, step for step', async () => {
    const first = await runSeed({ seed: 393, keepTrace: true });
    const again = await runSeed({ seed: 393, keepTrace: true });
    expect(first.stats.crashes).toBeGreaterThan(0);
    expect(again.trace).toEqual(first.trace);
    expect(again.stats).toEqual(first.stats);
  });
});
