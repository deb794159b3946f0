import { dirname } from 'node:path';
import { parseConfig, type Config } from '../../src/shared/config/load.js';

/** The simulated parties' names and secrets (all in-process; nothing here is a real credential). */
export const SIM = {
  partpayOrigin: 'https://partpay.sim',
  merchantId: 'SIM-MERCHANT',
  clientSecret: 'sim-client-secret',
  callbackKey: 'sim-callback-key',
  terminals: [
    { id: 'TILL0001', key: 'sim-till-1-key' },
    { id: 'TILL0002', key: 'sim-till-2-key' },
  ],
  pos: { id: 'sim-pos', password: 'sim-pos-secret', terminals: ['LANE0001', 'LANE0002'], keys: ['sim-lane-1-key', 'sim-lane-2-key'] },
  partners: [
    { id: 'wallet-a', name: 'Wallet A', password: 'wallet-a-secret', origin: 'https://wallet-a.sim' },
    { id: 'wallet-b', name: 'Wallet B', password: 'wallet-b-secret', origin: 'https://wallet-b.sim' },
  ],
  /** How long the daemon holds an Electrum pay for its scan, and waits for a partner. */
  scanWaitSeconds: 20,
  partnerTimeoutSeconds: 5,
  orderTtlSeconds: 60,
} as const;

const NEVER = '0 0 1 1 *'; // the simulation runs the jobs itself, on its clock

/**
 * The daemon's config in a simulated run: PartPay and two partners, all reached through the
 * simulated network; the database a SQLite file at `dbPath`, or the PostgreSQL database at
 * `postgresUrl` (the simulation's PostgreSQL mode).
 */
export function simConfig(dbPath: string, postgresUrl?: string): Config {
  const raw = {
    server: { host: '127.0.0.1', port: 8480, authFailures: { perSourcePerMinute: 1_000_000, perCredentialPerMinute: 1_000_000 } },
    database: postgresUrl ? { kind: 'postgres', url: { env: 'SIM_DATABASE_URL' }, pool: { max: 6 } } : { path: dbPath },
    log: { level: 'error' },
    partpay: {
      tokenUrl: `${SIM.partpayOrigin}/oauth/token`,
      audience: 'https://auth.partpay.sim',
      apiBaseUrl: `${SIM.partpayOrigin}/api`,
      callbackUrl: 'https://tenderbridge.sim/partpay/callback',
      requestTimeoutMs: 2_000,
      tokenTimeoutMs: 2_000,
      retries: { attempts: 2, initialDelayMs: 100 },
    },
    payments: { orderTtlSeconds: SIM.orderTtlSeconds, callbackOverdueSeconds: 10, lateApproval: 'refund', maxWaitSeconds: 30 },
    outbox: { baseDelayMs: 500, maxDelayMs: 10_000, maxAttempts: 100 },
    jobs: { deliverOutbox: NEVER, reconcile: NEVER, expire: NEVER, purge: NEVER, report: NEVER, readinessProbe: NEVER },
    electrum: {
      providerId: 'nz.tenderbridge.sim',
      scanWaitSeconds: SIM.scanWaitSeconds,
      partnerTimeoutSeconds: SIM.partnerTimeoutSeconds,
      clients: [{ id: SIM.pos.id, password: SIM.pos.password, terminals: [...SIM.pos.terminals], provider: 'electrum' }],
      partners: SIM.partners.map((p) => ({ id: p.id, name: p.name, password: p.password, baseUrl: `${p.origin}/qr/v1`, username: 'tenderbridge', outboundPassword: `${p.id}-out` })),
    },
    merchants: [{ id: 'm1', name: 'Sim Merchant', partpayMerchantId: SIM.merchantId, clientId: 'sim-client', clientSecret: SIM.clientSecret, callbackKeys: [SIM.callbackKey], currency: 'NZD' }],
    stores: [{ id: 'S1', name: 'Sim Store', merchant: 'm1' }],
    terminals: [...SIM.terminals.map((t) => ({ id: t.id, store: 'S1', apiKey: t.key })), ...SIM.pos.terminals.map((id, i) => ({ id, store: 'S1', apiKey: SIM.pos.keys[i] }))],
  };
  return parseConfig(raw, { source: 'simulation', env: postgresUrl ? { SIM_DATABASE_URL: postgresUrl } : {}, configDir: dirname(dbPath) });
}
