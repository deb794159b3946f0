import type { Dispatcher } from 'undici';
import { createPartnerClient, type PartnerClient } from './electrum/partner-client.js';
import { createElectrumProvider } from './electrum/provider.js';
import type { ElectrumRepository } from './electrum/repository.js';
import type { Port } from './storage/port.js';
import type { ScanWaiters } from './electrum/scan-waiters.js';
import type { PartPayClient } from './partpay/client.js';
import { callBoundMs } from './partpay/from-config.js';
import { createPartPayProvider } from './partpay/provider.js';
import { createProviders, type OrderingProvider, type Providers } from './payments/provider.js';
import type { Registry } from './registry/registry.js';
import type { Config, ElectrumPartner } from './shared/config/load.js';
import type { Logger } from './shared/logger.js';

export interface ProvidersFromConfig {
  providers: Providers;
  /** PartPay, which makes the orders of payments terminals start. */
  partpay: OrderingProvider;
  /** One keep-alive client per Electrum partner. */
  partnerClient: (partner: ElectrumPartner) => PartnerClient;
}

/**
 * The providers as the config describes them, built the same way for the daemon and the CLI:
 * PartPay over its Terminal API client, Electrum partners over one client each.
 * @example const { providers } = providersFromConfig(config, { partpay, registry, electrumRepos: store.repos.electrum, waiters, beforeSend: () => group.settled(), logger, clock });
 */
export function providersFromConfig(
  config: Config,
  deps: { partpay: PartPayClient; registry: Pick<Registry, 'merchant'>; electrumRepos: Pick<Port<ElectrumRepository>, 'paymentByPaymentId'>; waiters: Pick<ScanWaiters, 'isWaiting'>; beforeSend: () => Promise<void>; logger: Logger; clock: () => number; dispatcher?: Dispatcher | undefined },
): ProvidersFromConfig {
  const clients = new Map<string, PartnerClient>();
  const partnerClient = (partner: ElectrumPartner): PartnerClient => {
    let client = clients.get(partner.id);
    if (!client) {
      client = createPartnerClient({
        baseUrl: partner.baseUrl,
        username: partner.username,
        password: partner.outboundPassword,
        timeoutMs: config.electrum.partnerTimeoutSeconds * 1000,
        beforeSend: deps.beforeSend,
        logger: deps.logger.child({ component: 'electrum', partnerId: partner.id }),
        network: { key: 'electrum.partnerNetwork', ...config.electrum.partnerNetwork },
        ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
      });
      clients.set(partner.id, client);
    }
    return client;
  };
  const partpay = createPartPayProvider({ client: deps.partpay, merchant: (id) => deps.registry.merchant(id), callBoundMs: callBoundMs(config) });
  const electrum = createElectrumProvider({ repos: deps.electrumRepos, partners: config.electrum.partners, partnerClient, waiters: deps.waiters, partnerTimeoutSeconds: config.electrum.partnerTimeoutSeconds, clock: deps.clock });
  return { providers: createProviders([partpay, electrum]), partpay, partnerClient };
}
