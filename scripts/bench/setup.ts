import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDaemon, startSims, type Daemon, type Sims } from './procs.js';

/** Credentials of the benchmark's parties (loopback only, never real). */
export const BENCH = {
  audience: 'https://auth-bench.partpay.example',
  merchantId: 'PP-BENCH-0001',
  clientId: 'bench-client',
  clientSecret: 'bench-client-secret',
  callbackKey: 'iDt3PoeoSHu3r/mTbzkaHg',
  pos: { id: 'bench-pos', password: 'bench-pos-secret', terminal: 'TERM0001' },
  partner: { id: 'bench-partner', password: 'bench-partner-secret', outbound: 'bench-outbound-secret' },
  /** Terminal keys, one terminal per display profile; flows use the first. */
  terminals: [
    { id: 'TERM0001', key: 'bench-terminal-key-1', profile: 'default' },
    { id: 'TERM0002', key: 'bench-terminal-key-2', profile: 'mono' },
    { id: 'TERM0003', key: 'bench-terminal-key-3', profile: 'jpeg' },
    { id: 'TERM0004', key: 'bench-terminal-key-4', profile: 'webp' },
  ],
} as const;

/** The display profiles measured: the demo's two PNG profiles, a JPEG and a WebP one. */
export const PROFILES = {
  default: { format: 'png', size: 320, margin: 16, colour: 'greyscale' },
  mono: { format: 'png', size: 256, margin: 8, colour: 'mono' },
  jpeg: { format: 'jpeg', size: 200, margin: 10, colour: 'mono', quality: 85 },
  webp: { format: 'webp', size: 320, margin: 16, colour: 'colour', quality: 50 },
} as const;

/** A daemon config file as an operator would write it, pointing at the simulators. */
export function daemonConfig(options: { port: number; dbPath: string; partpayUrl: string; partnerUrl: string }): Record<string, unknown> {
  const daemonUrl = `http://127.0.0.1:${options.port}`;
  return {
    server: { host: '127.0.0.1', port: options.port, shutdownGraceSeconds: 2 },
    database: { path: options.dbPath },
    log: { level: 'info' },
    partpay: {
      tokenUrl: `${options.partpayUrl}/oauth/token`,
      audience: BENCH.audience,
      apiBaseUrl: `${options.partpayUrl}/api`,
      // Port 0 (start-up runs) has no callback URL to give.
      ...(options.port === 0 ? {} : { callbackUrl: `${daemonUrl}/partpay/callback` }),
      // The simulators are plain http on loopback: allowed explicitly, as in the demo config.
      imageFetch: { allowLoopbackHttp: true },
    },
    displayProfiles: PROFILES,
    merchants: [{ id: 'bench-merchant', name: 'Bench Merchant', partpayMerchantId: BENCH.merchantId, clientId: BENCH.clientId, clientSecret: BENCH.clientSecret, callbackKeys: [BENCH.callbackKey], currency: 'NZD' }],
    stores: [{ id: 'STORE001', name: 'Bench Store', merchant: 'bench-merchant' }],
    terminals: BENCH.terminals.map((t) => ({ id: t.id, store: 'STORE001', apiKey: t.key, displayProfile: t.profile })),
    electrum: {
      providerId: 'nz.tenderbridge.bench',
      scanWaitSeconds: 30,
      partnerTimeoutSeconds: 10,
      clients: [{ id: BENCH.pos.id, password: BENCH.pos.password, terminals: [BENCH.pos.terminal], provider: 'electrum' }],
      partnerNetwork: { allowLoopbackHttp: true },
      partners: [{ id: BENCH.partner.id, name: 'Bench Wallet', password: BENCH.partner.password, baseUrl: `${options.partnerUrl}/qr/v1`, username: 'tenderbridge', outboundPassword: BENCH.partner.outbound }],
    },
  };
}

export interface Stack {
  dir: string;
  dbPath: string;
  configPath: string;
  sims: Sims;
  daemon: Daemon;
  stop(): Promise<void>;
}

/** The simulators' process with the bench's parties, calling back to `daemonUrl`. */
export function startBenchSims(options: { partpayPort: number; daemonUrl: string; decideMs: number; qrDelivery: 'url' | 'base64' }): Promise<Sims> {
  return startSims({
    'partpay-port': options.partpayPort,
    'daemon-url': options.daemonUrl,
    'decide-ms': options.decideMs,
    'qr-delivery': options.qrDelivery,
    audience: BENCH.audience,
    'merchant-id': BENCH.merchantId,
    'client-id': BENCH.clientId,
    'client-secret': BENCH.clientSecret,
    'callback-key': BENCH.callbackKey,
    'partner-id': BENCH.partner.id,
    'partner-password': BENCH.partner.password,
    'partner-outbound': BENCH.partner.outbound,
  });
}

/** Simulators' process first (the daemon's config needs their URLs), then the built daemon (from `root` if given), on `dbPath` if given, with `config`'s top-level keys over the bench's. */
export async function startStack(options: { decideMs: number; qrDelivery: 'url' | 'base64'; nodeArgs?: string[]; root?: string; dbPath?: string; config?: Record<string, unknown>; startTimeoutMs?: number }): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-bench-'));
  // A given database file (a big one the db-size phase filled) is the caller's to remove.
  const dbPath = options.dbPath ?? join(dir, 'bench.db');
  const [port, partpayPort] = [await freePort(), await freePort()];
  const sims = await startBenchSims({ partpayPort, daemonUrl: `http://127.0.0.1:${port}`, decideMs: options.decideMs, qrDelivery: options.qrDelivery });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...daemonConfig({ port, dbPath, partpayUrl: sims.partpayUrl, partnerUrl: sims.partnerUrl }), ...options.config }, null, 2));
  let daemon: Daemon;
  try {
    daemon = await startDaemon(configPath, { ...(options.startTimeoutMs ? { timeoutMs: options.startTimeoutMs } : {}), ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}), ...(options.root ? { root: options.root } : {}) });
  } catch (error) {
    await sims.stop();
    throw error;
  }
  return {
    dir,
    dbPath,
    configPath,
    sims,
    daemon,
    async stop() {
      await daemon.stop();
      await sims.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A config for start-up runs: a fresh database, port 0, simulators not needed (tokens are fetched lazily). */
export function startupConfig(dir: string, run: number): string {
  const path = join(dir, `startup-${run}.json`);
  writeFileSync(path, JSON.stringify(daemonConfig({ port: 0, dbPath: join(dir, `startup-${run}.db`), partpayUrl: 'http://127.0.0.1:9', partnerUrl: 'http://127.0.0.1:9' })));
  return path;
}
