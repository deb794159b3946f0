import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createDaemon, type Daemon, type DaemonOptions } from '../../src/daemon.js';
import type { QrPool } from '../../src/qr/qr-pool.js';
import type { BuildInfo } from '../../src/ops/build-info.js';
import type { Store } from '../../src/storage/port.js';
import { parseConfig } from '../../src/shared/config/load.js';
import { createLogger } from '../../src/shared/logger.js';
import { createElectrumPartnerSimulator, type ElectrumPartnerSimulator } from '../../src/simulator/electrum-partner/index.js';
import { createPartPaySimulator, type PartPaySimulator, type PartPaySimulatorOptionsInput } from '../../src/simulator/partpay/index.js';
import { watchContract } from './contract.js';
import { createDatabaseOn, startPostgres } from './postgres.js';
import { inject } from 'vitest';
import { openPostgresBackend, type PostgresBackend } from '../../src/storage/postgres/backend.js';
import type { PostgresDatabaseConfig } from '../../src/shared/config/database-schema.js';

export const TERMINAL_KEY = 'test-terminal-key-1';
export const OTHER_TERMINAL_KEY = 'test-terminal-key-2';
/** Keys of TERM0003 (the PartPay POS client's second till) and TERM0004 (the Electrum POS client's), configured with `electrum`. */
export const TILL_3_KEY = 'test-terminal-key-3';
export const TILL_4_KEY = 'test-terminal-key-4';
/** Key of TERM0005, the second Electrum POS client's till (`electrum.secondPos`). */
export const TILL_5_KEY = 'test-terminal-key-5';
export const CALLBACK_KEY = 'iDt3PoeoSHu3r/mTbzkaHg';
export const CLIENT_SECRET = 'test-client-secret-never-logged';

export { freePort } from './ports.js';
import { freePort } from './ports.js';

export interface HarnessOptions {
  simulator?: Partial<PartPaySimulatorOptionsInput>;
  /** Deep-merged over the test config's sections. */
  config?: Record<string, unknown>;
  callbackKeys?: string[];
  /** The key the simulator signs with (defaults to the last callback key). */
  simulatorCallbackKey?: string;
  /** More values that must never appear in the logs. */
  extraSecrets?: string[];
  /** The merchant's currency (default NZD). */
  currency?: string;
  /** Start two Electrum partner simulators and configure POS clients and partners. */
  electrum?: { scanWaitSeconds?: number; partnerTimeoutSeconds?: number; behaviour?: Record<string, unknown>; defaultScheme?: string; secondPos?: boolean; partnerSimulator?: boolean };
  /** What the daemon says it was built as (/healthz, metrics); without it, the daemon's own default. */
  build?: BuildInfo;
  /** The daemon's QR worker pool (to watch it); default its own. */
  qrPool?: QrPool;
  /** Wraps the daemon's storage port (see `DaemonOptions.wrapStore`). */
  wrapStore?: (store: Store) => Store;
  /**
   * On SQLite: the WAL flush, its failure listener and the checkpointer's thread (see
   * `DaemonOptions.walFlush`). The harness's daemons leave checkpoints to SQLite unless a test
   * asks for the thread (`backgroundCheckpoints: true`): started from TypeScript, each thread costs
   * about half a second of CPU to load tsx, in every test daemon.
   */
  walFlush?: DaemonOptions['walFlush'];
  /**
   * The database the daemon runs on: a fresh SQLite file, or a fresh database on PostgreSQL
   * (the PostgreSQL pass's server, or one started for this harness). Default: `TB_TEST_DATABASE`
   * (set by vitest.postgres.config.ts), else SQLite.
   */
  backend?: 'sqlite' | 'postgres';
  /** With `backend: 'postgres'`: join this database (another harness's `databaseUrl`: two daemons sharing it) instead of a fresh one. */
  joinDatabase?: string;
}

/** Which database the harnesses of this run use unless told: the PostgreSQL pass sets TB_TEST_DATABASE=postgres. */
export const TEST_BACKEND: 'sqlite' | 'postgres' = process.env['TB_TEST_DATABASE'] === 'postgres' ? 'postgres' : 'sqlite';

/**
 * The display profiles the harness configures: TERM0001 uses `default` (as README's example
 * config writes it), TERM0002 `jpegMono`. Tests read the expected image from here.
 */
export const DISPLAY_PROFILES = {
  default: { format: 'png', size: 320, margin: 16, colour: 'greyscale' },
  jpegMono: { format: 'jpeg', size: 200, margin: 10, colour: 'mono' },
} as const;

/** Credentials of the Electrum parties the harness configures. */
export const ELECTRUM = {
  pos: { id: 'pos-1', password: 'pos-1-secret-never-logged', terminal: 'TERM0001', otherTerminal: 'TERM0004' },
  posPartPay: { id: 'pos-pp', password: 'pos-pp-secret-never-logged', terminal: 'TERM0002', otherTerminal: 'TERM0003' },
  /** A second Electrum POS client (another vendor's tills), configured with `electrum.secondPos`. */
  pos2: { id: 'pos-2', password: 'pos-2-secret-never-logged', terminal: 'TERM0005', otherTerminal: 'TERM0005' },
  partnerA: { id: 'partner-a', name: 'Wallet A', password: 'partner-a-secret-never-logged', outbound: 'to-partner-a-secret' },
  partnerB: { id: 'partner-b', name: 'Wallet B', password: 'partner-b-secret-never-logged', outbound: 'to-partner-b-secret' },
  providerId: 'nz.tenderbridge.test',
} as const;

export interface Harness {
  url: string;
  daemon: Daemon;
  sim: PartPaySimulator;
  /** The SQLite file (SQLite harnesses only). */
  dbPath: string;
  /** Which database the daemon runs on. */
  backend: 'sqlite' | 'postgres';
  /** The PostgreSQL database's URL (null on SQLite): another harness may join it (`joinDatabase`). */
  databaseUrl: string | null;
  /**
   * Runs one SQL statement on the daemon's database, whichever it is, and answers its rows (none
   * for a write): `?` placeholders, SQL both databases read (tests reach into the tables with it).
   */
  sql<T = Record<string, unknown>>(text: string, ...params: unknown[]): Promise<T[]>;
  logs: string[];
  /** Headers for the first (or second) test terminal. */
  auth(which?: 1 | 2): Record<string, string>;
  /** Electrum partner simulators (when started with `electrum`). */
  partners: { a: ElectrumPartnerSimulator; b: ElectrumPartnerSimulator } | null;
  stop(): Promise<void>;
  /** Stops the daemon (gracefully) and starts a new one on the same database, port and config. */
  restart(): Promise<void>;
  /** Moves the daemon's clock forward (its jobs, deadlines and outbox schedule; not the simulators'). */
  advanceClock(ms: number): void;
}

const NEVER = '0 0 1 1 *'; // jobs are driven by calling run() in tests

/**
 * Starts a PartPay simulator and a daemon on loopback ports with a fresh SQLite file in a
 * temporary folder. Everything is real: HTTP, OAuth, callbacks, the database.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-test-'));
  const dbPath = join(dir, 'test.db');
  const backendKind = options.backend ?? TEST_BACKEND;
  const postgres = backendKind === 'postgres' ? (options.joinDatabase ? { url: options.joinDatabase, password: new URL(options.joinDatabase).password, stop: async () => undefined } : await testDatabase()) : null;
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
  let partners: Harness['partners'] = null;
  let electrumConfig: Record<string, unknown> | undefined;
  if (options.electrum) {
    const make = (p: typeof ELECTRUM.partnerA | typeof ELECTRUM.partnerB) =>
      createElectrumPartnerSimulator({
        partnerId: p.id,
        partnerName: p.name,
        intermediateUrl: `${daemonUrl}/qr/v1`,
        credentials: { username: p.id, password: p.password },
        expects: { username: 'tenderbridge', password: p.outbound },
        behaviour: options.electrum?.behaviour ?? {},
      });
    partners = { a: make(ELECTRUM.partnerA), b: make(ELECTRUM.partnerB) };
    const urlA = await partners.a.listen(0, '127.0.0.1');
    const urlB = await partners.b.listen(0, '127.0.0.1');
    electrumConfig = {
      providerId: ELECTRUM.providerId,
      scanWaitSeconds: options.electrum.scanWaitSeconds ?? 5,
      partnerTimeoutSeconds: options.electrum.partnerTimeoutSeconds ?? 2,
      ...(options.electrum.defaultScheme ? { defaultScheme: options.electrum.defaultScheme } : {}),
      clients: [
        { id: ELECTRUM.pos.id, password: ELECTRUM.pos.password, terminals: [ELECTRUM.pos.terminal, ELECTRUM.pos.otherTerminal], provider: 'electrum' },
        { id: ELECTRUM.posPartPay.id, password: ELECTRUM.posPartPay.password, terminals: [ELECTRUM.posPartPay.terminal, ELECTRUM.posPartPay.otherTerminal], provider: 'partpay' },
        ...(options.electrum.secondPos ? [{ id: ELECTRUM.pos2.id, password: ELECTRUM.pos2.password, terminals: [ELECTRUM.pos2.terminal], provider: 'electrum' }] : []),
      ],
      // The partner simulators are plain http on loopback: allowed explicitly, as in the demo config.
      partnerNetwork: { allowLoopbackHttp: true },
      partners: [
        { id: ELECTRUM.partnerA.id, name: ELECTRUM.partnerA.name, password: ELECTRUM.partnerA.password, baseUrl: `${urlA}/qr/v1`, username: 'tenderbridge', outboundPassword: ELECTRUM.partnerA.outbound },
        { id: ELECTRUM.partnerB.id, name: ELECTRUM.partnerB.name, password: ELECTRUM.partnerB.password, baseUrl: `${urlB}/qr/v1`, username: 'tenderbridge', outboundPassword: ELECTRUM.partnerB.outbound },
      ],
    };
  }
  const raw = {
    server: { host: '127.0.0.1', port: daemonPort, shutdownGraceSeconds: 2, ...(options.config?.['server'] as object | undefined) },
    database: backendKind === 'postgres' ? { kind: 'postgres', url: { env: 'TB_TEST_DATABASE_URL' }, pool: { max: 10 } } : { path: dbPath },
    log: { level: 'debug' },
    partpay: {
      tokenUrl: `${simUrl}/oauth/token`,
      audience: 'https://auth-test.partpay.example',
      apiBaseUrl: `${simUrl}/api`,
      callbackUrl: `${daemonUrl}/partpay/callback`,
      requestTimeoutMs: 3000,
      retries: { attempts: 2, initialDelayMs: 20 },
      // The simulator serves its QR images over http on loopback: allowed explicitly, as in the demo config.
      imageFetch: { allowLoopbackHttp: true },
      ...(options.config?.['partpay'] as object | undefined),
    },
    payments: { orderTtlSeconds: 60, ...(options.config?.['payments'] as object | undefined) },
    outbox: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 5, ...(options.config?.['outbox'] as object | undefined) },
    ...(options.config?.['ops'] ? { ops: options.config['ops'] } : {}),
    ...(electrumConfig ? { electrum: electrumConfig } : {}),
    // Partner A declared as the demo's partner simulator (what the virtual terminal's wallet link may open).
    ...(options.electrum?.partnerSimulator && partners ? { simulators: { electrumPartner: { enabled: true, host: '127.0.0.1', port: Number(new URL(partners.a.url()).port), partnerId: ELECTRUM.partnerA.id } } } : {}),
    jobs: { deliverOutbox: NEVER, reconcile: NEVER, expire: NEVER, purge: NEVER, report: NEVER, readinessProbe: NEVER, backup: NEVER, ...(options.config?.['jobs'] as object | undefined) },
    ...(options.config?.['reports'] ? { reports: options.config['reports'] } : {}),
    ...(options.config?.['webhooks'] ? { webhooks: options.config['webhooks'] } : {}),
    backups: { dir: join(dir, 'backups'), ...(options.config?.['backups'] as object | undefined) },
    displayProfiles: DISPLAY_PROFILES,
    merchants: [{ id: 'm1', name: 'Test Merchant', partpayMerchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: CLIENT_SECRET, callbackKeys, currency: options.currency ?? 'NZD' }],
    stores: [{ id: 'S1', name: 'Test Store', merchant: 'm1' }],
    terminals: [
      { id: 'TERM0001', store: 'S1', apiKey: TERMINAL_KEY },
      { id: 'TERM0002', store: 'S1', apiKey: OTHER_TERMINAL_KEY, displayProfile: 'jpegMono' },
      ...(options.electrum
        ? [
            { id: ELECTRUM.posPartPay.otherTerminal, store: 'S1', apiKey: TILL_3_KEY },
            { id: ELECTRUM.pos.otherTerminal, store: 'S1', apiKey: TILL_4_KEY },
            ...(options.electrum.secondPos ? [{ id: ELECTRUM.pos2.terminal, store: 'S1', apiKey: TILL_5_KEY }] : []),
          ]
        : []),
    ],
  };
  const config = parseConfig(raw, { source: 'test', env: postgres ? { TB_TEST_DATABASE_URL: postgres.url } : {}, configDir: dir });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', stream });
  let clockOffset = 0;
  const clock = () => Date.now() + clockOffset;
  const daemonOptions = { logger, clock, ...(options.build ? { build: options.build } : {}), ...(options.qrPool ? { qrPool: options.qrPool } : {}), ...(options.wrapStore ? { wrapStore: options.wrapStore } : {}), walFlush: { backgroundCheckpoints: false, ...options.walFlush } };
  const openBackend = async (): Promise<PostgresBackend | null> =>
    postgres ? openPostgresBackend({ database: config.database as PostgresDatabaseConfig, merchants: config.merchants, stores: config.stores, terminals: config.terminals, logger, clock, appVersion: 'test' }) : null;
  let backend = await openBackend();
  const create = () => createDaemon(config, { ...daemonOptions, ...(backend ? { backend } : {}) });
  let daemon = create();
  watchContract(daemon.app);
  const url = await daemon.start();
  return {
    url,
    get daemon() {
      return daemon;
    },
    backend: backendKind,
    databaseUrl: postgres?.url ?? null,
    async sql<T>(text: string, ...params: unknown[]): Promise<T[]> {
      if (backend) {
        let n = 0;
        const { rows } = await backend.pool.query(text.replace(/\?/g, () => `$${++n}`), params);
        return rows as T[];
      }
      const statement = daemon.db.prepare(text);
      if (statement.reader) return statement.all(...params) as T[];
      statement.run(...params);
      return [];
    },
    async restart() {
      await daemon.stop();
      await backend?.close();
      backend = await openBackend();
      daemon = create();
      watchContract(daemon.app);
      await daemon.start();
    },
    advanceClock(ms: number) {
      clockOffset += ms;
    },
    sim,
    dbPath,
    logs,
    partners,
    auth: (which = 1) => ({ Authorization: `Bearer ${which === 1 ? TERMINAL_KEY : OTHER_TERMINAL_KEY}` }),
    async stop() {
      await daemon.stop();
      await backend?.close();
      await sim.close();
      await partners?.a.close();
      await partners?.b.close();
      await postgres?.stop();
      rmSync(dir, { recursive: true, force: true });
      // Every harness run doubles as a check that no configured secret reached the logs.
      const electrumSecrets = options.electrum ? [ELECTRUM.pos2.password, ELECTRUM.pos.password, ELECTRUM.posPartPay.password, ELECTRUM.partnerA.password, ELECTRUM.partnerB.password, ELECTRUM.partnerA.outbound, ELECTRUM.partnerB.outbound] : [];
      const databaseSecrets = postgres ? [postgres.password] : [];
      const leaked = [CLIENT_SECRET, TERMINAL_KEY, OTHER_TERMINAL_KEY, TILL_3_KEY, TILL_4_KEY, TILL_5_KEY, ...callbackKeys, ...electrumSecrets, ...databaseSecrets, ...(options.extraSecrets ?? [])].filter((secret) => logs.some((line) => line.includes(secret)));
      if (leaked.length > 0) throw new Error(`secrets appeared in the daemon's logs: ${leaked.map((s) => `${s.slice(0, 3)}…`).join(', ')}`);
    },
  };
}

/**
 * A fresh database for one harness: on the PostgreSQL pass's server when there is one (its
 * globalSetup provides it), else on a server started for this harness and stopped with it.
 */
async function testDatabase(): Promise<{ url: string; password: string; stop(): Promise<void> }> {
  const shared = inject('postgresUrl') as string | undefined;
  if (shared) return { url: await createDatabaseOn(shared), password: new URL(shared).password, stop: async () => undefined };
  const server = await startPostgres();
  return { url: await server.createDatabase(), password: server.password, stop: () => server.stop() };
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
