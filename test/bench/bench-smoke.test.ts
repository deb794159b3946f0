import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Keeps `npm run bench` working: its quick mode end to end (built daemon, simulators,
// baselines), then the shape of the JSON. No timing is asserted: figures depend on the machine.
const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-bench-smoke-'));
const out = join(dir, 'results.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown>;
const get = (r: Json, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Json | undefined)?.[k], r);
const positive = (r: Json, path: string) => {
  const v = get(r, path);
  expect(typeof v === 'number' && Number.isFinite(v) && v > 0, `${path} = ${JSON.stringify(v)}`).toBe(true);
};

/** A latency that may be 0 (an idle event loop), but is a number. */
const nonNegative = (r: Json, path: string) => {
  const v = get(r, path);
  expect(typeof v === 'number' && Number.isFinite(v) && v >= 0, `${path} = ${JSON.stringify(v)}`).toBe(true);
};

describe('npm run bench -- --quick', () => {
  // Asynchronous on purpose: a synchronous child would block the test worker's event loop.
  it('runs every phase and writes results.json with every section filled with positive figures', { timeout: 360_000 }, async () => {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/bench/main.ts', '--quick', '--quiet', `--out=${out}`], { cwd: root, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    const r = JSON.parse(readFileSync(out, 'utf8')) as Json;
    for (const section of ['machine', 'settings', 'baselineSqlite', 'baselineHttp', 'trivialRoute', 'partpayFlows', 'openLoop', 'electrumFlows', 'postgres', 'qr', 'startup', 'memory', 'ratios', 'targets']) {
      expect(r, section).toHaveProperty(section);
    }
    expect(get(r, 'machine.cpuModel')).toEqual(expect.any(String));
    positive(r, 'machine.cores');
    positive(r, 'baselineSqlite.commitsPerSec.median');
    positive(r, 'baselineSqlite.groupedChangesPerSec.median');
    for (const c of get(r, 'settings.concurrency') as number[]) {
      positive(r, `baselineHttp.${c}.rps.median`);
      positive(r, `trivialRoute.byConcurrency.${c}.rps.median`);
      for (const path of ['flowsPerSec.median', 'daemonCpuMsPerFlow.median', 'simulatorsCpuMsPerFlow.median', 'loadGeneratorCpuMsPerFlow.median', 'cpuBoundFlowsPerSec.median', 'createMiddlewareMs.p50.median', 'createRoundTripMs.p99.median', 'upstreamCreateMs.p50.median', 'qrFirstFetchMs.p50.median', 'callbackAckMs.p50.median']) {
        positive(r, `partpayFlows.byConcurrency.${c}.${path}`);
      }
      expect(get(r, `partpayFlows.byConcurrency.${c}.errors`)).toBe(0);
      positive(r, `partpayFlows.byConcurrency.${c}.walFlushesPerFlow`);
      positive(r, `electrumFlows.byConcurrency.${c}.flowsPerSec.median`);
      positive(r, `electrumFlows.byConcurrency.${c}.flowMs.p50.median`);
      positive(r, `electrumFlows.byConcurrency.${c}.simulatorsCpuMsPerFlow.median`);
      expect(get(r, `electrumFlows.byConcurrency.${c}.errors`)).toBe(0);
    }
    // At one terminal the long-poll is always open before the simulator decides.
    positive(r, 'partpayFlows.byConcurrency.1.callbackToTerminalMs.p50.median');
    expect(get(r, 'partpayFlows.durable.approvedRows')).toBe(get(r, 'partpayFlows.durable.flowsSeenApproved'));
    // The open loop offers fractions of the capacity measured above and reports each tail.
    positive(r, 'openLoop.capacityFlowsPerSec');
    for (const pct of ['25', '50', '80']) {
      expect(get(r, `openLoop.byPercentOfCapacity.${pct}.errors`)).toBe(0);
      positive(r, `openLoop.byPercentOfCapacity.${pct}.flows`);
      for (const measure of ['createOverheadMs', 'qrFirstFetchMs', 'eventLoopDelayMs']) {
        for (const q of ['p50', 'p99', 'p999', 'max']) nonNegative(r, `openLoop.byPercentOfCapacity.${pct}.${measure}.${q}`);
      }
      expect(get(r, `openLoop.byPercentOfCapacity.${pct}.callbackToTerminalMs`)).toHaveProperty('p999');
    }
    for (const profile of ['default', 'mono', 'jpeg', 'webp']) {
      for (const variant of ['base64', 'url', 'renderOnly']) {
        positive(r, `qr.perProfile.${profile}.${variant}.p50`);
        positive(r, `qr.perProfile.${profile}.mainThreadMs.${variant}`);
        positive(r, `qr.perProfile.${profile}.cpuMs.${variant}.p50`);
      }
      positive(r, `qr.perProfile.${profile}.bytes`);
    }
    positive(r, 'qr.httpRefetch.image200.p50.median');
    positive(r, 'qr.httpRefetch.notModified304.p50.median');
    positive(r, 'startup.readyLogMs.median');
    positive(r, 'startup.healthzMs.median');
    positive(r, 'memory.peakRssMb');
    positive(r, 'ratios.durableStateChangesPerSec');
    positive(r, 'ratios.electrumVsPartPayCpuPerFlow');
    // PostgreSQL with 1, 2 and 3 daemons sharing one database (the Debian binaries are installed wherever npm test runs under CI).
    for (const n of ['1', '2', '3']) {
      positive(r, `postgres.byDaemons.${n}.flowsPerSec.median`);
      positive(r, `postgres.byDaemons.${n}.daemonCpuMsPerFlow.median`);
      positive(r, `postgres.byDaemons.${n}.postgresCpuMsPerFlow.median`);
      expect(get(r, `postgres.byDaemons.${n}.errors`)).toBe(0);
    }
    positive(r, 'baselineHttpProcess.startToListenMs');
    positive(r, 'baselineHttpProcess.rssAtListenMb');
    positive(r, 'baselineHttpProcess.peakRssMb');
    const rows = get(r, 'targets') as Array<{ id: string; met: boolean; bound: string | null }>;
    expect(rows.length).toBeGreaterThanOrEqual(12);
    // Each target missed says what bounds it; none reads "undefined" or "NaN" for a figure this run has.
    for (const row of rows) {
      if (row.met) expect(row.bound, row.id).toBeNull();
      else expect(row.bound, row.id).toMatch(/^(?![\s\S]*(undefined|NaN))[\s\S]{20,}$/);
    }
  });
});
