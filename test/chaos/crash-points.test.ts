import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/harness.js';
import { FLOWS, type Flow } from './crash-flows.js';
import { differences, quiet, runEnd, type RunEnd } from './crash-ledger.js';
import { daemonProcess, writeDaemonConfig } from './daemon-process.js';
import { startSims, type Sims } from './sims-client.js';
import { dice, recordSummary, SCALE, SEED, sleep } from './support.js';

// A crash at every durable write: each scripted flow runs once, uninterrupted, against the built
// daemon to count its durable commits N; then once per crash point k, the daemon killing itself
// (SIGKILL, its test hook) right after commit k, restarted at once on the same database, and the
// flow finished by the terminal or POS retrying as a real one would. Every run must end as the
// uninterrupted one did, in tenderbridge and upstream, with nothing left owed.
// `npm test` kills at a seeded sample of the flows' commits; `npm run test:chaos` at every one.

const root = resolve(import.meta.dirname, '../..');
/** Crash runs in all: one per flow at `npm test` scale (9); CHAOS_SCALE=10 covers every commit of every flow. */
const SAMPLE = Math.round(9 * SCALE);
/** How long a run is watched after it went quiet, for late commits (a slow callback, a retried one). */
const SETTLE_MS = 700;
const HOOK = 'TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT';

let sims: Sims;
let port: number;
let base: string;
const uninterrupted = new Map<string, { commits: number; end: RunEnd; error: string | null }>();
/** Per flow: its commits, where it was killed, after which kills the POS sold again (its pay got no answer), and the runs that did not end as uninterrupted. */
const covered: Array<{ flow: string; commits: number; killedAt: number[]; notReached: number[]; soldAgainAfter: number[]; failedAt: number[]; ms: number }> = [];
let plan = new Map<string, number[]>();
const started = Date.now();

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  sims = await startSims(base);
}, 30_000);

afterAll(async () => {
  await sims?.stop();
  const sum = (f: (c: (typeof covered)[number]) => number) => covered.reduce((s, c) => s + f(c), 0);
  const kills = sum((c) => c.killedAt.length);
  const runs = sum((c) => c.killedAt.length + c.notReached.length);
  const commits = sum((c) => c.commits);
  const failed = sum((c) => c.failedAt.length);
  const every = runs === commits;
  const outcome = failed === 0 ? 'each run ending as the uninterrupted one' : `${failed} runs NOT ending as the uninterrupted one`;
  console.log(`[chaos] crash points: ${covered.length} flows, ${commits} durable commits; ${every ? 'every one' : `a seeded sample of ${runs} (seed ${SEED})`} killed and restarted (${kills} SIGKILLs), ${outcome} (${Math.round((Date.now() - started) / 1000)} s)`);
  await recordSummary('crashPoints', { scale: SCALE, seed: SEED, every, flows: covered, commits, runs, kills, failed, durationMs: Date.now() - started });
});

/**
 * A daemon on a fresh database, armed to kill itself after durable commit `k` (0: it only
 * counts), and restarted unarmed at once when it does.
 */
async function startDaemon(k: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-crashpoint-'));
  const dbPath = join(dir, 'chaos.db');
  // Outbox retries two seconds apart: a flow that meets an unreachable upstream fails as often in every run.
  const daemon = daemonProcess(writeDaemonConfig(dir, port, sims.partpayUrl, { partnerUrl: sims.partnerUrl, outbox: { baseDelayMs: 2_000, maxDelayMs: 4_000 } }), dir);
  await daemon.start({ [HOOK]: String(k) });
  let killed = false;
  let stopping = false;
  const restarted = daemon.exited().then(async (signal) => {
    if (stopping) return;
    if (signal !== 'SIGKILL') throw new Error(`the daemon exited by itself (${signal ?? 'an exit code'}):\n${daemon.output().slice(-3_000)}`);
    killed = true;
    await daemon.start();
  });
  restarted.catch(() => undefined);
  return {
    daemon,
    dbPath,
    killed: () => killed,
    /** Waits until nothing is open, owed or pending and no late commit came (a kill meanwhile: on the restarted daemon); returns what went wrong. */
    async settle(): Promise<string | null> {
      for (;;) {
        const wasKilled: boolean = killed;
        if (!(await quiet(dbPath, 30_000))) return 'never went quiet: something stayed open, owed or pending';
        await sleep(SETTLE_MS);
        if (killed === wasKilled) break;
      }
      if (killed) await restarted;
      return null;
    },
    async stop(): Promise<void> {
      stopping = true;
      // The run is over and checked: no need to wait for a graceful stop.
      await daemon.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function play(flow: Flow, label: string): Promise<string | null> {
  try {
    await flow.run({ base, sims, tag: `${flow.name}-${label}-${randomUUID().slice(0, 8)}`, deadline: Date.now() + 45_000 });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Every crash point (flow, k), or a seeded sample of `SAMPLE` of them with at least one per flow. */
function crashPlan(): Map<string, number[]> {
  const all = FLOWS.flatMap((f) => Array.from({ length: uninterrupted.get(f.name)?.commits ?? 0 }, (_, i) => ({ flow: f.name, k: i + 1 })));
  const picked = new Set<string>();
  if (SAMPLE >= all.length) all.forEach((p) => picked.add(`${p.flow}:${p.k}`));
  else {
    const d = dice(SEED * 31 + 7);
    for (const f of FLOWS) picked.add(`${f.name}:${d.int(1, uninterrupted.get(f.name)?.commits ?? 1)}`);
    while (picked.size < Math.max(SAMPLE, FLOWS.length)) {
      const p = all[d.int(0, all.length - 1)] as { flow: string; k: number };
      picked.add(`${p.flow}:${p.k}`);
    }
  }
  return new Map(FLOWS.map((f) => [f.name, all.filter((p) => p.flow === f.name && picked.has(`${p.flow}:${p.k}`)).map((p) => p.k)]));
}

describe('a crash at every durable write ends as if nothing had happened', () => {
  it('each flow, uninterrupted, ends with nothing owed and counts its durable commits', { timeout: 120_000 }, async () => {
    const run = await startDaemon(0);
    const seen = new Set<string>();
    let counted = 0;
    try {
      for (const flow of FLOWS) {
        const error = (await play(flow, 'n')) ?? (await run.settle());
        const end = await runEnd(run.dbPath, sims, seen);
        end.payments.forEach((p) => seen.add(p.id));
        const commits = run.daemon.commits() - counted;
        counted += commits;
        uninterrupted.set(flow.name, { commits, end, error });
      }
    } finally {
      await run.stop();
    }
    plan = crashPlan();
    // The uninterrupted run is the reference: it must itself end with nothing owed and the upstream holding each payment's own amount.
    const broken = [...uninterrupted].filter(([, u]) => u.error !== null || u.end.owed.length > 0 || u.end.wrongAmounts.length > 0 || u.commits === 0 || u.end.payments.length !== 1);
    expect(broken.map(([name, u]) => `${name}: ${u.error ?? ''} ${[...u.end.owed, ...u.end.wrongAmounts].join('; ')} (${u.commits} commits, ${u.end.payments.length} payments)`)).toEqual([]);
  });

  for (const flow of FLOWS) {
    it(`${flow.name}: killed after commit k, restarted and retried, ends in tenderbridge and upstream as uninterrupted`, { timeout: 150_000 * SCALE }, async () => {
      const reference = uninterrupted.get(flow.name);
      if (!reference || reference.error) throw new Error('its uninterrupted run failed (see the test before)');
      const t0 = Date.now();
      const entry = { flow: flow.name, commits: reference.commits, killedAt: [] as number[], notReached: [] as number[], soldAgainAfter: [] as number[], failedAt: [] as number[], ms: 0 };
      covered.push(entry);
      const problems: string[] = [];
      for (const k of plan.get(flow.name) ?? []) {
        const run = await startDaemon(k);
        const found: string[] = [];
        try {
          const error = (await play(flow, String(k))) ?? (await run.settle());
          if (error) found.push(error);
          const end = await runEnd(run.dbPath, sims);
          if (end.payments.length > 1) entry.soldAgainAfter.push(k);
          found.push(...differences(reference.end, end));
        } finally {
          (run.killed() ? entry.killedAt : entry.notReached).push(k);
          await run.stop();
        }
        if (found.length > 0) entry.failedAt.push(k);
        problems.push(...found.map((p) => `k=${k}: ${p}`));
      }
      entry.ms = Date.now() - t0;
      const again = entry.soldAgainAfter.length ? `; the POS lost its pay answer and sold again after ${entry.soldAgainAfter.join(', ')}` : '';
      console.log(`[chaos] ${flow.name}: ${reference.commits} commits; killed after ${entry.killedAt.join(', ') || 'none'}${entry.notReached.length ? `; not reached: ${entry.notReached.join(', ')}` : ''}${again}; ${entry.failedAt.length === 0 ? 'each ended as uninterrupted' : `PROBLEMS after ${entry.failedAt.join(', ')}`}`);
      expect(problems).toEqual([]);
    });
  }
});
