import autocannon from 'autocannon';
import { procStats } from './procs.js';

/** One autocannon run: requests per second and latency (ms) at a number of connections. */
export interface CannonRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** CPU the server process spent per request answered, in µs (when its pid was given). */
  serverCpuUsPerRequest: number;
}

/** Request-rate measurement of one URL with keep-alive connections (autocannon), and the server's CPU per request if `serverPid` is given. */
export async function cannon(url: string, connections: number, seconds: number, headers: Record<string, string> = {}, serverPid?: number): Promise<CannonRun> {
  const cpu0 = serverPid === undefined ? Number.NaN : procStats(serverPid).cpuMs;
  const result = await autocannon({ url, connections, duration: seconds, headers, pipelining: 1 });
  const cpuMs = serverPid === undefined ? Number.NaN : procStats(serverPid).cpuMs - cpu0;
  return {
    serverCpuUsPerRequest: (cpuMs * 1000) / Math.max(1, result.requests.total),
    rps: result.requests.total / Math.max(0.001, result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
