import { availableParallelism } from 'node:os';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../../test/support/postgres.js';
import { postgresBinDir } from '../../test/support/postgres-bin.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { closedLoop, sleep } from './loop.js';
import { partpayFlow, type PartPayFlow } from './partpay-flow.js';
import { freePort, procStats, startDaemon, type Daemon } from './procs.js';
import type { Progress } from './progress.js';
import { BENCH, daemonConfig, startBenchSims } from './setup.js';
import { latencies, round, spread } from './stats.js';

export interface PostgresPhaseSettings {
  /** Fleet sizes to measure (daemons sharing the database). */
  daemons: number[];
  /** Closed-loop terminals, spread evenly over the daemons. */
  concurrency: number;
  rounds: number;
  flowSeconds: number;
  warmMs: number;
  decideMs: number;
  qrDelivery: 'url' | 'base64';
  nodeArgs: string[];
}

const TICK_MS = 1000 / 100;

/** CPU (ms) of the PostgreSQL server: the postmaster, its live backends, and the backends it has reaped. */
function serverCpuMs(postmaster: number): number {
  const fields = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  const own = fields(postmaster);
  let ms = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) * TICK_MS;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === postmaster) continue;
    try {
      const f = fields(Number(entry));
      if (Number(f[1]) === postmaster) ms += (Number(f[11]) + Number(f[12])) * TICK_MS;
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}

/**
 * PartPay flows on PostgreSQL with 1, 2 and 3 daemons sharing one database (a throwaway server
 * from the Debian binaries, fsync and synchronous_commit on): the closed-loop terminals are
 * spread evenly over the daemons, PartPay calls back to the first (its one callback URL), and
 * each round reports flows/s and the CPU per flow of all the daemons together, of the server,
 * of the simulators and of this load generator, on the same box as the SQLite figures.
 */
export async function postgresPhase(s: PostgresPhaseSettings, progress: Progress) {
  if (postgresBinDir() === null) {
    progress.step('PostgreSQL phase skipped: no server binaries under /usr/lib/postgresql (Debian package postgresql)');
    return { skipped: 'no PostgreSQL server binaries (Debian package postgresql)' };
  }
  const server = await startPostgres();
  const byDaemons: Record<string, unknown> = {};
  try {
    for (const n of s.daemons) {
      const url = await server.createDatabase(`bench_${n}`);
      const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-bench-pg-'));
      const ports = [];
      for (let i = 0; i < n; i++) ports.push(await freePort());
      const sims = await startBenchSims({ partpayPort: await freePort(), daemonUrl: `http://127.0.0.1:${ports[0]}`, decideMs: s.decideMs, qrDelivery: s.qrDelivery });
      const daemons: Daemon[] = [];
      const clients: HttpClient[] = [];
      try {
        // One after the other: the first creates the schema in the empty database.
        for (const [i, port] of ports.entries()) {
          const base = daemonConfig({ port, dbPath: join(dir, 'unused.db'), partpayUrl: sims.partpayUrl, partnerUrl: sims.partnerUrl });
          // Every daemon names the first as PartPay's callback URL (one public URL, as behind a load balancer).
          const config = { ...base, database: { kind: 'postgres', url }, partpay: { ...(base['partpay'] as object), callbackUrl: `http://127.0.0.1:${ports[0]}/partpay/callback` } };
          const file = join(dir, `daemon-${i + 1}.json`);
          writeFileSync(file, JSON.stringify(config));
          daemons.push(await startDaemon(file, { nodeArgs: s.nodeArgs, timeoutMs: 60_000 }));
        }
        for (const d of daemons) clients.push(createHttpClient(d.url));
        const flows = clients.map((c, i) => partpayFlow(c, BENCH.terminals[0].key, `-pg${n}-d${i}`));
        const flow = (worker: number) => (flows[worker % n] as ReturnType<typeof partpayFlow>)(worker);
        const warm = await closedLoop(8, s.warmMs, flow);
        if (warm.errors > 0) throw new Error(`PostgreSQL warm-up with ${n} daemon(s) failed: ${warm.firstError}`);
        await sleep(100);
        await sims.drain();
        const rounds = [];
        for (let r = 1; r <= s.rounds; r++) {
          const d0 = daemons.map((d) => procStats(d.pid).cpuMs);
          const db0 = serverCpuMs(server.pid);
          const s0 = procStats(sims.child.pid as number).cpuMs;
          const l0 = process.cpuUsage();
          const loop = await closedLoop<PartPayFlow>(s.concurrency, s.flowSeconds * 1000, flow);
          const flowsDone = Math.max(1, loop.all.length);
          const daemonCpu = daemons.map((d, i) => procStats(d.pid).cpuMs - (d0[i] as number));
          const l = process.cpuUsage(l0);
          const x = {
            perSec: (loop.results.length * 1000) / loop.windowMs,
            daemonCpuPerFlow: daemonCpu.reduce((a, b) => a + b, 0) / flowsDone,
            busiestDaemonShare: Math.max(...daemonCpu) / Math.max(1, daemonCpu.reduce((a, b) => a + b, 0)),
            postgresCpuPerFlow: (serverCpuMs(server.pid) - db0) / flowsDone,
            simsCpuPerFlow: (procStats(sims.child.pid as number).cpuMs - s0) / flowsDone,
            loadCpuPerFlow: (l.user + l.system) / 1000 / flowsDone,
            createMs: latencies(loop.all.map((f) => f.createMs)),
            errors: loop.errors,
            firstError: loop.firstError,
            n: loop.all.length,
          };
          await sleep(150);
          await sims.drain();
          rounds.push(x);
          progress.step(`PostgreSQL, ${n} daemon(s), c=${s.concurrency} round ${r}/${s.rounds}: ${Math.round(x.perSec)} flows/s, CPU ms/flow daemons ${round(x.daemonCpuPerFlow, 2)} PostgreSQL ${round(x.postgresCpuPerFlow, 2)} sims ${round(x.simsCpuPerFlow, 2)} load ${round(x.loadCpuPerFlow, 2)}, create p50 ${round(x.createMs.p50)} ms p99 ${round(x.createMs.p99)} ms${x.errors ? `, ${x.errors} errors: ${x.firstError}` : ''}`);
        }
        const cores = availableParallelism();
        byDaemons[String(n)] = {
          flowsPerSec: spread(rounds.map((x) => x.perSec)),
          daemonCpuMsPerFlow: spread(rounds.map((x) => x.daemonCpuPerFlow)),
          busiestDaemonCpuShare: spread(rounds.map((x) => x.busiestDaemonShare)),
          postgresCpuMsPerFlow: spread(rounds.map((x) => x.postgresCpuPerFlow)),
          simulatorsCpuMsPerFlow: spread(rounds.map((x) => x.simsCpuPerFlow)),
          loadGeneratorCpuMsPerFlow: spread(rounds.map((x) => x.loadCpuPerFlow)),
          cpuBoundFlowsPerSec: spread(rounds.map((x) => (cores * 1000) / (x.daemonCpuPerFlow + x.postgresCpuPerFlow + x.simsCpuPerFlow + x.loadCpuPerFlow))),
          createRoundTripMs: { p50: spread(rounds.map((x) => x.createMs.p50)), p99: spread(rounds.map((x) => x.createMs.p99)) },
          flows: rounds.reduce((a, x) => a + x.n, 0),
          errors: rounds.reduce((a, x) => a + x.errors, 0),
        };
      } finally {
        for (const c of clients) c.close();
        for (const d of daemons) await d.stop();
        await sims.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await server.stop();
  }
  return { concurrency: s.concurrency, callbacksTo: 'the first daemon', byDaemons };
}
