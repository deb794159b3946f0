#!/usr/bin/env node
/**
 * The demo as a fleet: two (or more) daemons sharing one PostgreSQL database, as a chain's
 * central deployment runs them. `npm run demo:fleet` with TENDERBRIDGE_DATABASE_URL set.
 *
 * The demo config (config/default.json) is taken for each daemon with its own port: daemon 1
 * hosts the PartPay simulator and the partner wallet (they call back to daemon 1, as PartPay
 * posts to one public URL), the others only serve. A payment made on daemon 2's virtual
 * terminal is approved by the callback daemon 1 takes, and daemon 2's till hears it at once.
 * Ctrl-C stops them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface FleetOptions {
  daemons: number;
  /** Daemon i listens on basePort + i - 1; the simulators on basePort + 10 and + 11. */
  basePort: number;
}

/** `--daemons=N` (2 to 5, default 2) and `--base-port=P` (default 8480, the demo's). */
export function fleetOptions(argv: readonly string[]): FleetOptions {
  const value = (name: string, fallback: number, min: number, max: number): number => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`));
    if (arg === undefined) return fallback;
    const n = Number(arg.slice(name.length + 3));
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}, not "${arg.slice(name.length + 3)}"`);
    return n;
  };
  return { daemons: value('daemons', 2, 2, 5), basePort: value('base-port', 8480, 1024, 65_000) };
}

/** Daemon `i`'s config (1-based): the demo's, on PostgreSQL, on its own port; simulators on daemon 1 only. */
export function fleetConfig(demo: Record<string, unknown>, i: number, options: FleetOptions): Record<string, unknown> {
  const port = options.basePort + i - 1;
  const first = `http://127.0.0.1:${options.basePort}`;
  const partpaySim = `http://127.0.0.1:${options.basePort + 10}`;
  const walletSim = `http://127.0.0.1:${options.basePort + 11}`;
  const simulators = demo['simulators'] as { partpay: Record<string, unknown>; electrumPartner: Record<string, unknown> };
  const electrum = demo['electrum'] as { partners: Array<Record<string, unknown>> };
  return {
    ...demo,
    server: { ...(demo['server'] as object), port },
    database: { kind: 'postgres', url: { env: 'TENDERBRIDGE_DATABASE_URL' } },
    partpay: { ...(demo['partpay'] as object), tokenUrl: `${partpaySim}/oauth/token`, apiBaseUrl: `${partpaySim}/api`, callbackUrl: `${first}/partpay/callback` },
    simulators: {
      partpay: { ...simulators.partpay, enabled: i === 1, port: options.basePort + 10 },
      electrumPartner: { ...simulators.electrumPartner, enabled: i === 1, port: options.basePort + 11 },
    },
    electrum: { ...electrum, partners: electrum.partners.map((p) => ({ ...p, baseUrl: `${walletSim}/qr/v1` })) },
  };
}

async function main(): Promise<void> {
  const options = fleetOptions(process.argv.slice(2));
  if (!process.env['TENDERBRIDGE_DATABASE_URL']) {
    console.error('demo:fleet needs a PostgreSQL database: set TENDERBRIDGE_DATABASE_URL=postgres://user:password@host:5432/database (see README, "Central deployment")');
    process.exit(78);
  }
  const demo = JSON.parse(readFileSync(join(appRoot, 'config/default.json'), 'utf8')) as Record<string, unknown>;
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-fleet-'));
  const children: ChildProcess[] = [];
  const start = (i: number): Promise<void> => {
    const file = join(dir, `daemon-${i}.json`);
    writeFileSync(file, JSON.stringify(fleetConfig(demo, i, options), null, 2));
    const child = spawn(process.execPath, [join(appRoot, 'dist/main.js'), '--config', file], { cwd: appRoot, env: { ...process.env, TENDERBRIDGE_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    // Whole lines only, each with its daemon's number (a pipe's chunk may end mid-line).
    const prefixed = (to: NodeJS.WriteStream) => {
      let partial = '';
      return (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line !== '') to.write(`[daemon ${i}] ${line}\n`);
      };
    };
    child.stdout?.on('data', prefixed(process.stdout));
    child.stderr?.on('data', prefixed(process.stderr));
    return new Promise((ready, failed) => {
      // A pipe may split the ready line across chunks: look at what has come so far, not at one chunk.
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen = (seen + chunk.toString()).slice(-4096);
        if (seen.includes('tenderbridge ready on')) ready();
      });
      child.once('exit', (code) => failed(new Error(`daemon ${i} exited (${code}) before it was ready`)));
    });
  };
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    void Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    });
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  try {
    // The first creates the schema in an empty database; the others join it.
    await start(1);
    await Promise.all(Array.from({ length: options.daemons - 1 }, (_, k) => start(k + 2)));
  } catch (error) {
    console.error(`demo:fleet: ${(error as Error).message}`);
    stop(1);
    return;
  }
  const urls = Array.from({ length: options.daemons }, (_, k) => `http://127.0.0.1:${options.basePort + k}`);
  const lines = [
    `tenderbridge fleet ready: ${options.daemons} daemons on one PostgreSQL database`,
    ...urls.map((url, k) => `  daemon ${k + 1}: ${url}/terminal (virtual terminal), ${url}/console`),
    `  PartPay simulator (calls back to daemon 1): http://127.0.0.1:${options.basePort + 10}/phone`,
    "Pay on any daemon's terminal: each hears every outcome. Ctrl-C stops them all.",
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`demo:fleet failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
