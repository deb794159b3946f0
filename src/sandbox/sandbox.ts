import type { Logger } from '../shared/logger.js';
import { createElectrumPartnerSimulator } from '../simulator/electrum-partner/index.js';
import { createPartPaySimulator } from '../simulator/partpay/index.js';
import { sandboxConfigSnippet, type SandboxConfigSnippet } from './config-snippet.js';
import { sandboxOptionsSchema, type SandboxOptionsInput } from './options.js';

/** A running sandbox: where it listens, the config that points tenderbridge at it, and how to stop it. */
export interface Sandbox {
  partpayUrl: string;
  partnerUrl: string;
  config: SandboxConfigSnippet;
  /** Stops both simulators (timers, callbacks in flight, held sockets, listeners). */
  close(): Promise<void>;
}

/**
 * Starts the PartPay simulator and the Electrum partner simulator side by side, with the
 * sandbox credentials, outside any daemon: what `tenderbridge sandbox` runs.
 * @example
 * const sandbox = await startSandbox({ partpayPort: 0, partnerPort: 0, daemonUrl: 'http://127.0.0.1:8480' });
 * console.log(JSON.stringify(sandbox.config, null, 2));
 * await sandbox.close();
 */
export async function startSandbox(input: SandboxOptionsInput, logger?: Logger): Promise<Sandbox> {
  const options = sandboxOptionsSchema.parse(input);
  const c = options.credentials;
  const daemonUrl = options.daemonUrl.replace(/\/+$/, '');
  const partpay = createPartPaySimulator({
    protocol: {},
    audience: c.audience,
    merchants: [{ merchantId: c.merchantId, clientId: c.clientId, clientSecret: c.clientSecret, callbackKey: c.callbackKey, qrDelivery: 'base64' }],
    callbackUrl: `${daemonUrl}/partpay/callback`,
    autoDecideAfterMs: options.autoDecideAfterMs,
    orderTtlMs: options.orderTtlMs,
    ...(logger ? { logger } : {}),
  });
  const partner = createElectrumPartnerSimulator({
    partnerId: c.partnerId,
    partnerName: c.partnerName,
    intermediateUrl: `${daemonUrl}/qr/v1`,
    credentials: { username: c.partnerId, password: c.partnerPassword },
    expects: { username: c.outboundUsername, password: c.outboundPassword },
    ...(logger ? { logger } : {}),
  });
  const close = async () => {
    await Promise.all([partpay.close(), partner.close()]);
  };
  try {
    const partpayUrl = await partpay.listen(options.partpayPort, options.host);
    const partnerUrl = await partner.listen(options.partnerPort, options.host);
    return { partpayUrl, partnerUrl, config: sandboxConfigSnippet(c, { partpayUrl, partnerUrl, daemonUrl }), close };
  } catch (error) {
    // A port in use: do not leave the other simulator listening.
    await close();
    throw error;
  }
}
