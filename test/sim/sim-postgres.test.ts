import { expect, it } from 'vitest';
import { usePostgresServer } from '../support/postgres-server.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';
import { runSeed } from './run.js';

// The simulation's PostgreSQL mode: the same seeded world (tills, POS lanes, PartPay, two
// partners, faults on every link, outages, crashes), with two daemons sharing one database on a
// real postgres(). Every request, callback and scan reaches either daemon; a crash kills one, which
// restarts 2 s later while the other carries on. Not replayable step for step (the server
// answers two daemons in its own order), so a failure prints its trace instead of a replay line.
// `npm run test:sim -- --postgres --seeds=N` runs more.
const seeds = Number(process.env['SIM_POSTGRES_SEEDS'] ?? 6);
const from = Number(process.env['SIM_FROM'] ?? 1);

describeWhenAvailable('the simulation on PostgreSQL with two daemons', [tools.postgres()], () => {
  const postgres = usePostgresServer();

  it(`keeps every invariant over ${seeds} seeded runs (seeds ${from}..${from + seeds - 1}), one daemon killed at random moments`, { timeout: 30 * 60_000 }, async () => {
    const failures: string[] = [];
    let payments = 0;
    let crashes = 0;
    let calls = 0;
    for (let seed = from; seed < from + seeds; seed += 1) {
      const result = await runSeed({ seed, maxCrashes: 3, postgres: { url: await postgres().createDatabase(), daemons: 2 } });
      payments += result.stats.payments;
      crashes += result.stats.crashes;
      calls += Object.values(result.stats.upstreamCalls).reduce((a, b) => a + b, 0);
      if (result.problems.length > 0) failures.push(`seed ${seed}: ${result.problems.slice(0, 5).join('; ')}\n${result.trace.slice(-80).join('\n')}`);
    }
    console.log(`simulation on PostgreSQL: ${seeds} seeds, 2 daemons, ${payments} payments, ${crashes} daemons killed, ${calls} upstream calls, ${failures.length} failing`);
    expect(failures).toEqual([]);
    // The runs did what they are for: payments made, daemons killed under them.
    expect(payments).toBeGreaterThan(seeds * 6);
    expect(crashes).toBeGreaterThan(0);
  });
});
