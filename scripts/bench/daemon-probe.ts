import { readdirSync, statSync } from 'node:fs';
import type { HttpClient } from './http-client.js';
import { procStats } from './procs.js';

/** What the daemon holds at one moment: memory by kind, open file descriptors, its database files. */
export interface DaemonSample {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  /** RSS the V8 heap and external buffers do not explain: native libraries (libvips, SQLite, zlib), the allocator, code. */
  nativeMb: number;
  openFds: number;
  dbMb: number;
  walMb: number;
}

const MB = 1024 * 1024;
const gauge = (text: string, name: string): number => Number(new RegExp(`^tenderbridge_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
const fileMb = (path: string): number => {
  try {
    return statSync(path).size / MB;
  } catch {
    return 0; // no WAL file yet (or checkpointed away)
  }
};

/**
 * Samples the daemon from outside, as an operator's monitoring would: /proc for RSS and file
 * descriptors, `/metrics` (prom-client's default gauges) for the V8 heap and external
 * buffers, the file system for the database and its WAL.
 * @example const s = await sampleDaemon(http, daemon.pid, '/tmp/x/bench.db'); s.rssMb
 */
export async function sampleDaemon(http: HttpClient, pid: number, dbPath: string): Promise<DaemonSample> {
  const text = (await http.send('GET', '/metrics')).body.toString('utf8');
  const { rssMb } = procStats(pid);
  const heapUsedMb = gauge(text, 'nodejs_heap_size_used_bytes') / MB;
  const heapTotalMb = gauge(text, 'nodejs_heap_size_total_bytes') / MB;
  const externalMb = gauge(text, 'nodejs_external_memory_bytes') / MB;
  return {
    rssMb,
    heapUsedMb,
    heapTotalMb,
    externalMb,
    nativeMb: rssMb - heapTotalMb - externalMb,
    openFds: readdirSync(`/proc/${pid}/fd`).length,
    dbMb: fileMb(dbPath),
    walMb: fileMb(`${dbPath}-wal`),
  };
}

/** Least-squares slope of `ys` against `xs` (units of y per unit of x); NaN with fewer than 2 points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}
