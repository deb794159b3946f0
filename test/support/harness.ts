import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import { parseConfig } from '../../src/shared/config/load.js';
import { createLogger } from '../../src/shared/logger.js';
import { createPartPaySimulator, type PartPaySimulator, type PartPaySimulatorOptionsInput } from '../../src/simulator/partpay/index.js';

export const TERMINAL_KEY = 'test-terminal-key-1';
export const OTHER_TERMINAL_KEY = 'test-terminal-key-2';
export const CALLBACK_KEY = 'iDt3PoeoSHu3r/mTbzkaHg';
export const CLIENT_SECRET = 'test-client-secret-never-logged';

/** A free TCP port on loopback (the daemon's URL must be known before the simulator starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface HarnessOptions {
  simulator?: Partial<PartPaySimulatorOptionsInput>;
  /** Deep-merged over the test config's sections. */
  config?: Record<string, unknown>;
  callbackKeys?: string[];
  /** The key the simulator signs with (defaults to the last callback key). */
  simulatorCallbackKey?: string;
  /** More values that must never appear in the logs. */
  extraSecrets?: string[];
}

export interface Harness {
  url: string;
  daemon: Daemon;
  sim: PartPaySimulator;
  dbPath: string;
  logs: string[];
  /** Headers for the first (or second) test terminal. */
  auth(which?: 1 | 2): Record<string, string>;
  stop(): Promise<void>;
}

const NEVER = '0 0 1 1 *'; // jobs are driven by calling run() in tests

/**
 * Starts a PartPay simulator and a daemon on loopback ports with a fresh SQLite file in a
 * temporary folder. Everything is real: HTTP, OAuth, callbacks, the database.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-test-'));
  const dbPath = join(dir, 'test.db');
  const daemonPort = await freePort();
  const daemonUrl = `http://127.0.0.1:${daemonPort}`;
  const callbackKeys = options.callbackKeys ?? [CALLBACK_KEY];
  const sim = createPartPaySimulator({
    protocol: {},
    audience: 'https://auth-test.partpay.example',
    merchants: [
      { merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: CLIENT_SECRET, callbackKey: options.simulatorCallbackKey ?? (callbackKeys[callbackKeys.length - 1] as string), qrDelivery: 'base64' },
    ],
    callbackUrl: `${daemonUrl}/partpay/callback`,
    callbackRetry: { attempts: 3, initialDelayMs: 50 },
    ...options.simulator,
  });
  const simUrl = await sim.listen(0, '127.0.0.1');
  const raw = {
    server: { host: '127.0.0.1', port: daemonPort, shutdownGraceSeconds: 2 },
    database: { path: dbPath },
    log: { level: 'debug' },
    partpay: {
      tokenUrl: `${simUrl}/oauth/token`,
      audience: 'https://auth-test.partpay.example',
      apiBaseUrl: `${simUrl}/api`,
      callbackUrl: `${daemonUrl}/partpay/callback`,
      requestTimeoutMs: 3000,
      retries: { attempts: 2, initialDelayMs: 20 },
      ...(options.config?.['partpay'] as object | undefined),
    },
    payments: { orderTtlSeconds: 60, ...(options.config?.['payments'] as object | undefined) },
    outbox: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 5, ...(options.config?.['outbox'] as object | undefined) },
    ...(options.config?.['ops'] ? { ops: options.config['ops'] } : {}),
    jobs: { deliverOutbox: NEVER, reconcile: NEVER, expire: NEVER },
    displayProfiles: { jpegMono: { format: 'jpeg', size: 200, margin: 10, colour: 'mono' } },
    merchants: [{ id: 'm1', name: 'Test Merchant', partpayMerchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: CLIENT_SECRET, callbackKeys, currency: 'NZD' }],
    stores: [{ id: 'S1', name: 'Test Store', merchant: 'm1' }],
    terminals: [
      { id: 'TERM0001', store: 'S1', apiKey: TERMINAL_KEY },
      { id: 'TERM0002', store: 'S1', apiKey: OTHER_TERMINAL_KEY, displayProfile: 'jpegMono' },
    ],
  };
  const config = parseConfig(raw, { source: 'test', env: {}, configDir: dir });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', stream });
  const daemon = createDaemon(config, { logger });
  const url = await daemon.start();
  return {
    url,
    daemon,
    sim,
    dbPath,
    logs,
    auth: (which = 1) => ({ Authorization: `Bearer ${which === 1 ? TERMINAL_KEY : OTHER_TERMINAL_KEY}` }),
    async stop() {
      await daemon.stop();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
      // Every harness run doubles as a check that no configured secret reached the logs.
      const leaked = [CLIENT_SECRET, TERMINAL_KEY, OTHER_TERMINAL_KEY, ...callbackKeys, ...(options.extraSecrets ?? [])].filter((secret) => logs.some((line) => line.includes(secret)));
      if (leaked.length > 0) throw new Error(`secrets appeared in the daemon's logs: ${leaked.map((s) => `${s.slice(0, 3)}…`).join(', ')}`);
    },
  };
}

/** Polls `check` until it returns a truthy value or the time runs out (for asynchronous effects). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
