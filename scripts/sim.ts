/**
 * Runs the deterministic simulation of the daemon over many seeds (see test/sim/run.ts), on
 * every core, each worker taking a fresh process state every 200 seeds.
 *   npm run test:sim -- --seeds=1000            seeds 1..1000
 *   npm run test:sim -- --seeds=1000 --from=5000 --workers=2
 *   npm run test:sim -- --seed=1234 --trace     replays one seed, printing its trace
 *   npm run test:sim -- --postgres --seeds=50   two daemons on PostgreSQL (a throwaway server; not replayable)
 *   npm run test:sim -- --postgres --daemons=3  three daemons
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { startPostgres } from '../test/support/postgres.js';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k as string, v ?? 'true'];
  }),
);
const single = args.get('seed');
const first = single ? Number(single) : Number(args.get('from') ?? 1);
const count = single ? 1 : Number(args.get('seeds') ?? 100);
const workers = single ? 1 : Math.max(1, Math.min(Number(args.get('workers') ?? availableParallelism()), count));
const chunk = 200;
// PostgreSQL mode: one throwaway server for the run (the Debian postgresql binaries), a database per
// seed. Its seeds are slow (real queries), so each is reported as it ends.
const server = args.has('postgres') ? await startPostgres() : null;
const postgres = server ? { server: server.url, daemons: Number(args.get('daemons') ?? 2) } : null;
const options = { maxCrashes: Number(args.get('crashes') ?? (postgres ? 3 : 2)), trace: args.has('trace'), verbose: Boolean(single) || postgres !== null, postgres };

type Report = { seed: number; problems: string[]; trace: string[]; stats: Record<string, unknown> };
const started = Date.now();
let next = first;
let failed = 0;
let done = 0;
let payments = 0;
let crashes = 0;
let lateApprovals = 0;

/** Runs seeds [from, from+n) in a fresh worker. */
function runChunk(from: number, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./sim-worker.mjs', import.meta.url), { workerData: { from, count: n, ...options } });
    worker.on('message', (r: Report) => {
      done += 1;
      payments += Number(r.stats['payments'] ?? 0);
      crashes += Number(r.stats['crashes'] ?? 0);
      lateApprovals += Number(r.stats['lateApprovals'] ?? 0);
      if (options.trace) console.log(r.trace.join('\n'));
      if (r.problems.length > 0) {
        failed += 1;
        const again = postgres ? `run again (PostgreSQL runs are not replayable step for step): npm run test:sim -- --postgres --seed=${r.seed} --trace` : `replay: npm run test:sim -- --seed=${r.seed} --trace`;
        console.log(`seed ${r.seed}: ${r.problems.length} problem(s)\n  ${r.problems.slice(0, 10).join('\n  ')}\n  ${again}`);
      } else if (options.verbose) {
        console.log(`seed ${r.seed}: ok ${JSON.stringify(r.stats)}`);
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulation worker exited with ${code}`))));
  });
}

async function lane(): Promise<void> {
  while (next < first + count) {
    const from = next;
    const n = Math.min(chunk, first + count - from);
    next += n;
    await runChunk(from, n);
  }
}

try {
  await Promise.all(Array.from({ length: workers }, lane));
} finally {
  await server?.stop();
}
const seconds = (Date.now() - started) / 1000;
console.log(`${done} seed(s) from ${first}${postgres ? ` on PostgreSQL with ${postgres.daemons} daemons` : ''}: ${done - failed} ok, ${failed} failed; ${payments} payments, ${crashes} crashes, ${lateApprovals} late approvals; ${seconds.toFixed(1)} s, ${(done / seconds).toFixed(1)} seeds/s on ${workers} worker(s)`);
process.exitCode = failed > 0 || done !== count ? 1 : 0;
