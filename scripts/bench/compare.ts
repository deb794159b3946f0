import { cannon } from './cannon.js';
import { electrumPhase, partpayPhase, type FlowSettings } from './flow-phases.js';
import { createHttpClient } from './http-client.js';
import { procStats } from './procs.js';
import type { Progress } from './progress.js';
import { startStack } from './setup.js';
import { spread, type Spread } from './stats.js';

export interface CompareSettings extends FlowSettings {
  cannonSeconds: number;
  qrDelivery: 'url' | 'base64';
}

/** One side's figures in one round, by name; `higher` says whether a larger value is better. */
type Figures = Map<string, { value: number; higher: boolean }>;

const median = (v: unknown): number => (v as Spread | undefined)?.median ?? Number.NaN;

/** The main daemon phases once, against the build at `root`: start-up, /healthz, PartPay and Electrum flows at each level. */
async function oneSide(root: string, s: CompareSettings, progress: Progress): Promise<Figures> {
  const figures: Figures = new Map();
  const put = (name: string, value: number, higher: boolean) => figures.set(name, { value, higher });
  const stack = await startStack({ decideMs: s.decideMs, qrDelivery: s.qrDelivery, root });
  const http = createHttpClient(stack.daemon.url);
  const partner = createHttpClient(stack.sims.partnerUrl);
  try {
    put('start to ready line, ms', stack.daemon.readyLogMs, false);
    put('daemon RSS at ready, MB', procStats(stack.daemon.pid).rssMb, false);
    const top = s.concurrency[s.concurrency.length - 1] ?? 1;
    // Right after start the route is cold (the JIT): the first burst is warm-up, not a figure.
    await cannon(`${stack.daemon.url}/healthz`, top, s.cannonSeconds);
    put(`GET /healthz req/s at c=${top}`, (await cannon(`${stack.daemon.url}/healthz`, top, s.cannonSeconds)).rps, true);
    const quiet = { step: () => undefined, elapsedMs: progress.elapsedMs };
    const partpay = (await partpayPhase(stack, http, s, quiet, {})).byConcurrency as Record<string, Record<string, Record<string, unknown>>>;
    const electrum = (await electrumPhase(stack, http, partner, s, quiet, {})).byConcurrency as Record<string, Record<string, unknown>>;
    for (const c of s.concurrency) {
      const p = partpay[String(c)] ?? {};
      const e = electrum[String(c)] ?? {};
      put(`PartPay flows/s at c=${c}`, median(p['flowsPerSec']), true);
      put(`PartPay daemon CPU ms/flow at c=${c}`, median(p['daemonCpuMsPerFlow']), false);
      put(`PartPay create (middleware) p99 ms at c=${c}`, median(p['createMiddlewareMs']?.['p99']), false);
      put(`PartPay callback->terminal p99 ms at c=${c}`, median(p['callbackToTerminalMs']?.['p99']), false);
      put(`Electrum flows/s at c=${c}`, median(e['flowsPerSec']), true);
      put(`Electrum daemon CPU ms/flow at c=${c}`, median(e['daemonCpuMsPerFlow']), false);
    }
    put('daemon peak RSS, MB', procStats(stack.daemon.pid).peakRssMb, false);
  } finally {
    http.close();
    partner.close();
    await stack.stop();
  }
  return figures;
}

/**
 * A/B of two builds on the same box: rounds A, B, A, B, ... of the main daemon phases, so
 * that the machine's drift from hour to hour falls on both. Each figure's ratio B/A is taken
 * per round and its median over rounds reported, with the medians of A and B.
 */
export async function compareBuilds(a: { label: string; root: string }, b: { label: string; root: string }, rounds: number, s: CompareSettings, progress: Progress) {
  const sides: { a: Figures[]; b: Figures[] } = { a: [], b: [] };
  for (let r = 1; r <= rounds; r++) {
    for (const [key, side] of [['a', a], ['b', b]] as const) {
      const figures = await oneSide(side.root, s, progress);
      sides[key].push(figures);
      const flows = [...figures].filter(([name]) => name.startsWith('PartPay flows/s')).map(([, f]) => Math.round(f.value));
      progress.step(`compare round ${r}/${rounds} ${key.toUpperCase()} (${side.label}): PartPay flows/s ${flows.join(' / ')}`);
    }
  }
  const names = [...(sides.a[0]?.keys() ?? [])];
  const figures = Object.fromEntries(
    names.map((name) => {
      const of = (xs: Figures[]) => xs.map((f) => f.get(name)?.value ?? Number.NaN);
      const [av, bv] = [of(sides.a), of(sides.b)];
      return [name, { a: spread(av), b: spread(bv), ratioBA: spread(av.map((x, i) => (bv[i] ?? Number.NaN) / x)), higherIsBetter: sides.a[0]?.get(name)?.higher ?? true }];
    }),
  );
  return { a, b, rounds, order: Array.from({ length: rounds }, () => 'A, B').join(', '), figures };
}

export type CompareResult = Awaited<ReturnType<typeof compareBuilds>>;
