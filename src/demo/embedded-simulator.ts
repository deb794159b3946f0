import type { Config } from '../shared/config/load.js';
import type { Logger } from '../shared/logger.js';
import type { ElectrumPartnerSimulator } from '../simulator/electrum-partner/index.js';
import type { PartPaySimulator } from '../simulator/partpay/index.js';

// The simulators are imported only when enabled: a store's daemon never loads them (nor the
// image libraries the PartPay simulator draws its QR codes with).

/**
 * Starts the PartPay simulator inside the daemon for the demo, configured from the daemon's
 * own config so that credentials, callback keys and protocol paths match by construction.
 * Returns null when `simulators.partpay.enabled` is false.
 */
export async function startEmbeddedPartPay(config: Config, daemonUrl: string, logger: Logger): Promise<PartPaySimulator | null> {
  const sim = config.simulators.partpay;
  if (!sim.enabled) return null;
  const { createPartPaySimulator } = await import('../simulator/partpay/index.js');
  const simulator = createPartPaySimulator({
    protocol: config.partpay.protocol,
    audience: config.partpay.audience,
    merchants: config.merchants.map((m) => ({
      merchantId: m.partpayMerchantId,
      clientId: m.clientId,
      clientSecret: m.clientSecret,
      // The newest key signs: during a rotation that is the second one.
      callbackKey: m.callbackKeys[m.callbackKeys.length - 1] as string,
      qrDelivery: sim.qrDelivery,
    })),
    callbackUrl: config.partpay.callbackUrl ?? `${daemonUrl}/partpay/callback`,
    autoDecideAfterMs: sim.autoDecideAfterMs,
    orderTtlMs: sim.orderTtlMs,
    logger: logger.child({ component: 'partpay-simulator' }),
  });
  await simulator.listen(sim.port, sim.host);
  return simulator;
}

/**
 * Starts the Electrum partner simulator (a wallet that scans and pays) for the demo, as the
 * configured partner `simulators.electrumPartner.partnerId`. Null when disabled.
 */
export async function startEmbeddedElectrumPartner(config: Config, daemonUrl: string, logger: Logger): Promise<ElectrumPartnerSimulator | null> {
  const sim = config.simulators.electrumPartner;
  if (!sim.enabled) return null;
  const partner = config.electrum.partners.find((p) => p.id === sim.partnerId);
  if (!partner) return null;
  const { createElectrumPartnerSimulator } = await import('../simulator/electrum-partner/index.js');
  const simulator = createElectrumPartnerSimulator({
    partnerId: partner.id,
    partnerName: partner.name,
    intermediateUrl: `${daemonUrl}/qr/v1`,
    credentials: { username: partner.id, password: partner.password },
    expects: { username: partner.username, password: partner.outboundPassword },
    logger: logger.child({ component: 'electrum-partner-simulator' }),
  });
  await simulator.listen(sim.port, sim.host);
  return simulator;
}
