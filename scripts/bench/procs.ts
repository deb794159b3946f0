import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import type { SimTimings } from './sims-shared.js';
import { monoMs } from './stats.js';

export const ROOT = resolve(import.meta.dirname, '../..');
/** Where the built daemon is run from: this tree, or another checkout's build (`TENDERBRIDGE_BENCH_ROOT`, e.g. to compare commits). */
export const DAEMON_ROOT = process.env['TENDERBRIDGE_BENCH_ROOT'] ? resolve(process.env['TENDERBRIDGE_BENCH_ROOT']) : ROOT;

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

const TICK_MS = 1000 / 100; // USER_HZ is 100 on every Linux we run on

/** RSS, peak RSS (VmHWM) and CPU time of a process, from /proc. */
export function procStats(pid: number): { rssMb: number; peakRssMb: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, cpuMs };
}

/** Samples a process's RSS every `everyMs` until stopped; returns the largest seen. */
export function sampleRss(pid: number, everyMs = 100) {
  let max = 0;
  const take = () => {
    try {
      max = Math.max(max, procStats(pid).rssMb);
    } catch {
      // the process is gone: keep what we have
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      take();
      return max;
    },
  };
}

/**
 * The `Environment=` settings of the shipped systemd unit, so the benchmark runs the daemon
 * as production does (e.g. NODE_ENV, MALLOC_ARENA_MAX).
 * @example unitEnvironment() // { NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' }
 */
export function unitEnvironment(root = DAEMON_ROOT): Record<string, string> {
  const unit = readFileSync(resolve(root, 'systemd/tenderbridge.service'), 'utf8');
  return Object.fromEntries(
    [...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((m) => [m[1] as string, (m[2] as string).trim()]),
  );
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Spawn to the "ready" log line, and spawn to the first 200 from /healthz. */
  readyLogMs: number;
  healthzMs: number;
  stop(): Promise<void>;
}

/**
 * Starts the built daemon as production does (`node dist/main.js --config FILE`, with the
 * unit's environment), from `root` (default {@link DAEMON_ROOT}), and waits
 * for its "tenderbridge ready on URL" log line, then for /healthz. Its stdout (the JSON log)
 * is drained and dropped so logging costs what it costs under journald.
 */
export async function startDaemon(configPath: string, options: { nodeArgs?: string[]; timeoutMs?: number; root?: string } = {}): Promise<Daemon> {
  const root = options.root ?? DAEMON_ROOT;
  const t0 = monoMs();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), resolve(root, 'dist/main.js'), '--config', configPath], { cwd: root, env: { ...process.env, ...unitEnvironment(root) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const ready = await new Promise<{ url: string; at: number }>((ok, fail) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`daemon not ready within ${options.timeoutMs ?? 15_000} ms: ${stderr.slice(-500)}`)), options.timeoutMs ?? 15_000);
    const onData = (c: Buffer) => {
      buffered += c.toString('utf8');
      const match = /tenderbridge ready on (http:\/\/[^"\s]+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        ok({ url: match[1] as string, at: monoMs() });
      } else if (buffered.length > 1_000_000) {
        buffered = buffered.slice(-10_000);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`daemon exited with ${code} before it was ready: ${stderr.slice(-1000)}`));
    });
  });
  // Keep draining the log so the pipe never blocks the daemon.
  child.stdout?.on('data', () => undefined);
  let healthzAt = Number.NaN;
  for (let i = 0; i < 2000; i++) {
    const ok = await fetch(`${ready.url}/healthz`).then((r) => r.ok, () => false);
    if (ok) {
      healthzAt = monoMs();
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return {
    child,
    pid: child.pid as number,
    url: ready.url,
    readyLogMs: ready.at - t0,
    healthzMs: healthzAt - t0,
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      ok();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Baseline A: a bare node:http server in its own process (or, with `express-http.mjs`,
 * baseline A′: express with one route); resolves with its URL.
 */
export async function startBaselineHttp(script: 'bare-http.mjs' | 'express-http.mjs' = 'bare-http.mjs'): Promise<{ child: ChildProcess; url: string; startToListenMs: number; stop(): Promise<void> }> {
  const t0 = monoMs();
  const child = spawn(process.execPath, [resolve(import.meta.dirname, script)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((ok, fail) => {
    child.stdout?.once('data', (c: Buffer) => ok(c.toString('utf8').trim()));
    child.once('exit', (code) => fail(new Error(`baseline server exited with ${code}`)));
  });
  return { child, url, startToListenMs: monoMs() - t0, stop: () => stopChild(child) };
}


export interface Sims {
  child: ChildProcess;
  partpayUrl: string;
  partnerUrl: string;
  /** Takes (and clears) the timings gathered since the last call. */
  drain(): Promise<SimTimings>;
  stop(): Promise<void>;
}

/** Starts the PartPay and Electrum partner simulators in their own process (see sims-process.ts). */
export async function startSims(args: Record<string, string | number>): Promise<Sims> {
  const argv = Object.entries(args).map(([k, v]) => `--${k}=${v}`);
  const child = fork(resolve(import.meta.dirname, 'sims-process.ts'), argv, { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const urls = await new Promise<{ partpayUrl: string; partnerUrl: string }>((ok, fail) => {
    child.once('message', (m) => ok(m as { partpayUrl: string; partnerUrl: string }));
    child.once('exit', (code) => fail(new Error(`simulators exited with ${code}`)));
  });
  return {
    child,
    ...urls,
    drain: () =>
      new Promise((ok) => {
        child.once('message', (m) => ok(m as SimTimings));
        child.send('drain');
      }),
    stop: () => stopChild(child),
  };
}
