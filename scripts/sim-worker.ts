/** One worker of scripts/sim.ts: runs its seeds one after another and reports each. */
import { parentPort, workerData } from 'node:worker_threads';
import { runSeed } from '../test/sim/run.js';

const { from, count, maxCrashes, trace } = workerData as { from: number; count: number; maxCrashes: number; trace: boolean };
for (let seed = from; seed < from + count; seed += 1) {
  const result = await runSeed({ seed, maxCrashes, keepTrace: trace });
  parentPort?.postMessage({ seed, problems: result.problems, trace: result.trace, stats: result.stats });
}
