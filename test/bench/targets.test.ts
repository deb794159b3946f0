import { describe, expect, it } from 'vitest';
import { boundOf, targets } from '../../scripts/bench/report.js';

// The targets table of `npm run bench`: each missed target says what bounds it, with the
// figure of the same run that shows it. A synthetic run, so the assertions do not depend on the machine.
const median = (v: number) => ({ median: v, min: v, max: v, iqr: 0, rounds: 1 });
const run = (healthzRps: number) => ({
  settings: { concurrency: [1, 64] },
  baselineHttp: { '64': { rps: median(40_000), serverCpuUsPerRequest: median(20) }, '1': { rps: median(15_000), serverCpuUsPerRequest: median(30) } },
  baselineExpress: { '64': { rps: median(24_000), serverCpuUsPerRequest: median(34) } },
  baselineHttpProcess: { startToListenMs: 61, rssAtListenMb: 44.5, peakRssMb: 52.25 },
  ratios: { trivialRouteVsBareHttp: { '64': healthzRps / 40_000 }, expressVsBareHttp: { '64': 0.6 }, durableStateChangesVsRawCommits: 0.2 },
  partpayFlows: { byConcurrency: { '1': { daemonCpuMsPerFlow: median(13), flowsPerSec: median(20) }, '64': { daemonCpuMsPerFlow: median(4), flowsPerSec: median(300), cpuBoundFlowsPerSec: median(350), walFlushesPerFlow: 0.25 } }, durable: { stateChangesPerFlow: 3 } },
  startup: { readyLogMs: median(800), rssAtReadyMb: median(110) },
  memory: { peakRssMb: 300 },
  openLoop: { byPercentOfCapacity: { '50': { createOverheadMs: { p99: 55 }, callbackToTerminalMs: { p99: 40 }, eventLoopDelayMs: { p99: 9 }, generatorStartLateMs: { p99: 9.5 }, diskFlushMs: { n: 100, meanMs: 1.6, p50AtMostMs: 2, p99AtMostMs: 20 } } } },
  dbSize: {
    '1000000': {
      api: { 'GET /v1/payments/:id': { ratioP50: 1.05 } },
      jobs: { expire: { cpuMsMax: 2 } },
      backup: { eventLoopMs: 17.6, wallMs: 16_000, longestWaitMs: 24.4 },
      purge: { oldestWeek: { batchLoopMs: { p99: 6.6 } } },
    },
  },
});

describe('bench targets', () => {
  it('gives every missed target what bounds it, and a met one none', () => {
    const rows = targets(run(12_000));
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const row of rows) {
      if (row.met) expect(row.bound, row.id).toBeNull();
      else expect(row.bound, row.id).toMatch(/\w{4,}/);
    }
    // Met here: the 1 M API (1.05x), the jobs and the purge; missed: the backup's whole job.
    expect(rows.find((x) => x.id === 'db-1000000-api')?.met).toBe(true);
    expect(rows.find((x) => x.id === 'db-1000000-backup')?.bound).toContain('16 s');
  });

  it("cites the same run's figures: express alone for /healthz, the WAL flushes for the open loop, node itself for start-up and memory", () => {
    const rows = targets(run(12_000));
    const bound = (id: string) => rows.find((x) => x.id === id)?.bound ?? '';
    expect(bound('healthz')).toContain('answers at 0.6 of bare node:http at c=64');
    expect(bound('cpu-partpay')).toContain('1.7 bare requests per request');
    expect(bound('flows')).toContain('allows 350 flows/s at c=64');
    expect(bound('durable')).toContain('0.25 times per flow');
    expect(bound('durable')).toContain('about 12 of them');
    expect(bound('open-create-p99')).toContain('p99 <= 20 ms');
    expect(bound('open-create-p99')).toContain('9.5 ms');
    expect(bound('open-callback-p99')).toContain('p99 <= 20 ms');
    expect(bound('startup')).toContain('listens 61 ms after its spawn');
    expect(bound('rss-ready')).toContain('44.5 MB');
    expect(bound('rss')).toContain('52.3 MB');
  });

  it('leaves /healthz without a bound once it meets its target', () => {
    const met = targets(run(30_000)).find((x) => x.id === 'healthz');
    expect(met?.met).toBe(true);
    expect(met?.bound).toBeNull();
    // A figure the run did not measure shows as "-", never as a number it does not have.
    expect(boundOf('startup', { settings: { concurrency: [64] } })).toContain('listens - ms');
  });
});
