/** One worker of scripts/sim.ts: runs its seeds one after another and reports each. */
import { parentPort, workerData } from 'node:worker_threads';
import { runSeed } from '../test/sim/run.js';
import { createDatabaseOn } from '../test/support/postgres.js';

const { from, count, maxCrashes, trace, postgres } = workerData as { from: number; count: number; maxCrashes: number; trace: boolean; postgres: { server: string; daemons: number } | null };
for (let seed = from; seed < from + count; seed += 1) {
  // PostgreSQL mode: each seed on a fresh database of the run's server.
  const database = postgres ? { postgres: { url: await createDatabaseOn(postgres.server), daemons: postgres.daemons } } : {};
  const result = await runSeed({ seed, maxCrashes, keepTrace: trace, ...database });
  parentPort?.postMessage({ seed, problems: result.problems, trace: result.trace, stats: result.stats });
}
