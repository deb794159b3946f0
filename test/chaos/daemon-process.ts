import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CALLBACK_KEY, CLIENT_SECRET, ELECTRUM, OTHER_TERMINAL_KEY, TERMINAL_KEY } from '../support/harness.js';
import { sleep } from './support.js';

const root = resolve(import.meta.dirname, '../..');
export const AUDIENCE = 'https://auth-chaos.partpay.example';
const EVERY_SECOND = '* * * * * *';

/** More of the chaos config: an Electrum partner (its simulator's URL) and sections merged over the defaults. */
export interface ChaosConfigExtras {
  partnerUrl?: string;
  outbox?: Record<string, unknown>;
  electrum?: Record<string, unknown>;
  /** The database section instead of the SQLite file `chaos.db` in `dir` (a fleet: `{"kind": "postgres", "url": {"env": ...}}`). */
  database?: Record<string, unknown>;
  /** The callback URL PartPay is given instead of this daemon's own (a fleet: the front before its daemons). */
  callbackUrl?: string;
}

/** The Electrum section: POS client `pos-1` on TERM0001, partner A at `partnerUrl`; pays wait 3 s for a scan, 1 s for the partner. */
function electrumSection(partnerUrl: string, extra: Record<string, unknown> = {}) {
  const p = ELECTRUM.partnerA;
  return {
    providerId: ELECTRUM.providerId,
    scanWaitSeconds: 3,
    partnerTimeoutSeconds: 1,
    clients: [{ id: ELECTRUM.pos.id, password: ELECTRUM.pos.password, terminals: [ELECTRUM.pos.terminal], provider: 'electrum' }],
    partners: [{ id: p.id, name: p.name, password: p.password, baseUrl: `${partnerUrl}/qr/v1`, username: 'tenderbridge', outboundPassword: p.outbound }],
    // The partner simulator is plain http on loopback: allowed explicitly, as in the harness and the demo config.
    partnerNetwork: { allowLoopbackHttp: true },
    ...extra,
  };
}

/** Writes a daemon config for the chaos suites: jobs every second, callbacks overdue after 1 s. */
export function writeDaemonConfig(dir: string, port: number, simUrl: string, extras: ChaosConfigExtras = {}): string {
  const config = {
    server: { host: '127.0.0.1', port, shutdownGraceSeconds: 2 },
    database: extras.database ?? { path: join(dir, 'chaos.db') },
    log: { level: 'info' },
    partpay: {
      tokenUrl: `${simUrl}/oauth/token`,
      audience: AUDIENCE,
      apiBaseUrl: `${simUrl}/api`,
      callbackUrl: extras.callbackUrl ?? `http://127.0.0.1:${port}/partpay/callback`,
      requestTimeoutMs: 1_000,
      retries: { attempts: 3, initialDelayMs: 50 },
    },
    payments: { orderTtlSeconds: 60, callbackOverdueSeconds: 1, maxWaitSeconds: 5 },
    outbox: { baseDelayMs: 50, maxDelayMs: 500, maxAttempts: 100, ...extras.outbox },
    jobs: { deliverOutbox: EVERY_SECOND, reconcile: EVERY_SECOND, expire: EVERY_SECOND },
    reports: { dir: join(dir, 'reports') },
    merchants: [{ id: 'm1', name: 'Chaos Merchant', partpayMerchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: CLIENT_SECRET, callbackKeys: [CALLBACK_KEY], currency: 'NZD' }],
    stores: [{ id: 'S1', name: 'Chaos Store', merchant: 'm1' }],
    terminals: [
      { id: 'TERM0001', store: 'S1', apiKey: TERMINAL_KEY },
      { id: 'TERM0002', store: 'S1', apiKey: OTHER_TERMINAL_KEY },
    ],
    ...(extras.partnerUrl ? { electrum: electrumSection(extras.partnerUrl, extras.electrum) } : {}),
  };
  const file = join(dir, 'chaos.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * The built daemon (`node dist/main.js --config <file>`) as a child process that can be killed
 * and started again. `start(env)` adds to its environment (the crash hook's variable); it must
 * log that it is ready within `readyWithinMs` (default 20 s).
 */
export function daemonProcess(configFile: string, cwd: string, options: { readyWithinMs?: number } = {}) {
  let child: ChildProcess | null = null;
  let output = '';
  let starts = 0;

  async function start(env: Record<string, string> = {}): Promise<void> {
    output = '';
    starts += 1;
    const c = spawn(process.execPath, [join(root, 'dist/main.js'), '--config', configFile], { cwd, env: { ...process.env, TENDERBRIDGE_CONFIG: '', TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
    c.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
    const until = Date.now() + (options.readyWithinMs ?? 20_000);
    while (!output.includes('tenderbridge ready on')) {
      if (c.exitCode !== null) throw new Error(`the daemon exited with ${c.exitCode} while starting:\n${output.slice(-4_000)}`);
      if (Date.now() > until) throw new Error(`the daemon did not become ready:\n${output.slice(-4_000)}`);
      await sleep(20);
    }
  }

  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  async function stop(signal: NodeJS.Signals): Promise<number | null> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill(signal);
    return exited;
  }

  /** Resolves with the signal that ended the current process (null: it exited by itself with a code). */
  function exited(): Promise<NodeJS.Signals | null> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c?.signalCode ?? null);
    return new Promise((r) => c.once('exit', (_code, signal) => r(signal)));
  }

  /** The highest durable commit the current process logged (the crash hook logs each; 0: none). */
  function commits(): number {
    let highest = 0;
    for (const m of output.matchAll(/"commit":(\d+)/g)) highest = Math.max(highest, Number(m[1]));
    return highest;
  }

  return { start, stop, exited, commits, output: () => output, starts: () => starts, alive: () => child !== null && child.exitCode === null && child.signalCode === null };
}
