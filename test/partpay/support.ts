import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createPartPayClient, type PartPayClientOptions } from '../../src/partpay/client.js';
import { partpayProtocolSchema, type PartPayProtocol } from '../../src/partpay/protocol.js';
import { createTokenManager, type TokenManagerOptions } from '../../src/partpay/token-manager.js';
import type { MerchantCredentials } from '../../src/partpay/types.js';
import { createLogger } from '../../src/shared/logger.js';
import { createPartPaySimulator, type PartPaySimulatorOptionsInput, type SimulatedMerchant } from '../../src/simulator/partpay/index.js';

export const AUDIENCE = 'https://auth-dev.partpay.co.nz';
export const logger = createLogger({ level: 'error', silent: true });

export const MERCHANTS = {
  base64: { merchantId: 'mer-base64', clientId: 'client-base64', clientSecret: 's3cret-base64', callbackKey: 'iDt3PoeoSHu3r/mTbzkaHg', qrDelivery: 'base64' },
  dataUri: { merchantId: 'mer-datauri', clientId: 'client-datauri', clientSecret: 's3cret-datauri', callbackKey: 'key-datauri', qrDelivery: 'data-uri' },
  url: { merchantId: 'mer-url', clientId: 'client-url', clientSecret: 's3cret-url', callbackKey: 'key-url', qrDelivery: 'url' },
} as const satisfies Record<string, SimulatedMerchant>;

/** The adapter's view of a simulated merchant. */
export function credentials(m: SimulatedMerchant, overrides: Partial<MerchantCredentials> = {}): MerchantCredentials {
  return { id: `reg-${m.merchantId}`, partpayMerchantId: m.merchantId, clientId: m.clientId, clientSecret: m.clientSecret, ...overrides };
}

/** Starts a simulator on a free loopback port. */
export async function startSimulator(overrides: Partial<PartPaySimulatorOptionsInput> = {}) {
  const sim = createPartPaySimulator({ audience: AUDIENCE, merchants: Object.values(MERCHANTS), logger, ...overrides });
  const url = await sim.listen(0, '127.0.0.1');
  return { sim, url };
}

export function tokenManagerFor(url: string, overrides: Partial<TokenManagerOptions> = {}) {
  return createTokenManager({ tokenUrl: `${url}/oauth/token`, audience: AUDIENCE, timeoutMs: 2000, refreshMarginSeconds: 60, logger, ...overrides });
}

/** A client plus its token manager, pointed at `url` (a simulator or a tiny test server). */
export function adapterFor(url: string, overrides: Partial<PartPayClientOptions> = {}, protocol: PartPayProtocol = partpayProtocolSchema.parse({})) {
  const tokens = overrides.tokens ?? tokenManagerFor(url);
  const client = createPartPayClient({
    apiBaseUrl: `${url}/api`,
    protocol,
    callbackUrl: null,
    timeoutMs: 2000,
    retries: { attempts: 3, initialDelayMs: 10 },
    tokens,
    logger,
    ...overrides,
  });
  return { client, tokens };
}

/** Starts a tiny express app on a free loopback port (for failure modes the simulator lacks). */
export async function startServer(configure: (app: express.Express) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  configure(app);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A token manager stub for tests that exercise the API client against tiny servers. */
export function stubTokens() {
  const invalidated: string[] = [];
  let n = 0;
  return {
    invalidated,
    getToken: () => Promise.resolve(`token-${++n}`),
    invalidate: (clientId: string) => void invalidated.push(clientId),
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('waitFor timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
