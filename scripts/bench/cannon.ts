import autocannon from 'autocannon';

/** One autocannon run: requests per second and latency (ms) at a number of connections. */
export interface CannonRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

/** Request-rate measurement of one URL with keep-alive connections (autocannon). */
export async function cannon(url: string, connections: number, seconds: number, headers: Record<string, string> = {}): Promise<CannonRun> {
  const result = await autocannon({ url, connections, duration: seconds, headers, pipelining: 1 });
  return {
    rps: result.requests.total / Math.max(0.001, result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
