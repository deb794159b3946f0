import type { SandboxCredentials } from './options.js';

/** Where the sandbox listens and where it sends callbacks and scans. */
export interface SandboxUrls {
  partpayUrl: string;
  partnerUrl: string;
  daemonUrl: string;
}

/**
 * The sections of a tenderbridge config that point it at the sandbox: PartPay endpoints and
 * the merchant's OAuth client and callback key, and the Electrum partner. Merge it into a
 * config with your stores, terminals and Electrum POS clients (the merchant id is
 * `sandbox-merchant`); leave `simulators` off, the sandbox plays them.
 * @example
 * const snippet = sandboxConfigSnippet(credentials, { partpayUrl, partnerUrl, daemonUrl: 'http://127.0.0.1:8480' });
 * snippet.partpay.tokenUrl; // `${partpayUrl}/oauth/token`
 */
export function sandboxConfigSnippet(credentials: SandboxCredentials, urls: SandboxUrls) {
  const daemon = urls.daemonUrl.replace(/\/+$/, '');
  return {
    partpay: {
      tokenUrl: `${urls.partpayUrl}/oauth/token`,
      audience: credentials.audience,
      apiBaseUrl: `${urls.partpayUrl}/api`,
      callbackUrl: `${daemon}/partpay/callback`,
      // The simulator serves QR images over plain http.
      imageFetch: { allowLoopbackHttp: true },
    },
    merchants: [
      {
        id: 'sandbox-merchant',
        name: 'Sandbox Merchant',
        partpayMerchantId: credentials.merchantId,
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        callbackKeys: [credentials.callbackKey],
        currency: 'NZD',
      },
    ],
    electrum: {
      partnerNetwork: { allowLoopbackHttp: true },
      partners: [
        {
          id: credentials.partnerId,
          name: credentials.partnerName,
          password: credentials.partnerPassword,
          baseUrl: `${urls.partnerUrl}/qr/v1`,
          username: credentials.outboundUsername,
          outboundPassword: credentials.outboundPassword,
        },
      ],
    },
  };
}

export type SandboxConfigSnippet = ReturnType<typeof sandboxConfigSnippet>;
