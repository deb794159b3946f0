import { alphaToNumeric } from '../electrum/currency.js';
import { currencyExponent } from '../shared/currency.js';
import type { Config } from '../shared/config/load.js';

/** What the virtual terminal page is told: demo credentials (demo only) and where the customer pages are. */
export interface TerminalPageSettings {
  /** Terminals with their inline demo keys, offered in a list; empty outside the demo. */
  demoTerminals: Array<{ id: string; key: string }>;
  /** Electrum POS clients with inline demo passwords; empty outside the demo. */
  demoPosClients: Array<{ id: string; password: string; terminals: string[]; provider: string }>;
  /** The PartPay simulator's customer phone page, when it runs embedded. */
  customerPageUrl: string | null;
  /** The partner simulator's wallet page, when it runs embedded. */
  walletUrl: string | null;
  /** The merchant currency sales are made in (the first merchant's). */
  currency: string;
  /** ISO 4217 numeric code of `currency`, as Electrum messages carry it. */
  currencyNumeric: string;
  /** ISO 4217 minor-unit digits of `currency`: the page reads typed amounts and shows minor units with these, as the server does. */
  currencyDigits: number;
}

const hostUrl = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

/**
 * Demo credentials are prefilled only when the embedded PartPay simulator runs (the shipped
 * demo config), and only those written inline in the config file: a production config with
 * keys from files or the environment never exposes one to the page.
 */
export function terminalPageSettings(config: Config): TerminalPageSettings {
  const demo = config.simulators.partpay.enabled;
  const currency = config.merchants[0]?.currency ?? 'NZD';
  return {
    demoTerminals: demo ? config.raw.terminals.flatMap((t) => (typeof t.apiKey === 'string' ? [{ id: t.id, key: t.apiKey }] : [])) : [],
    demoPosClients: demo ? config.raw.electrum.clients.flatMap((c) => (typeof c.password === 'string' ? [{ id: c.id, password: c.password, terminals: c.terminals, provider: c.provider }] : [])) : [],
    customerPageUrl: demo ? `${hostUrl(config.simulators.partpay.host, config.simulators.partpay.port)}/phone` : null,
    walletUrl: config.simulators.electrumPartner.enabled ? `${hostUrl(config.simulators.electrumPartner.host, config.simulators.electrumPartner.port)}/` : null,
    currency,
    currencyNumeric: alphaToNumeric(currency) ?? '554',
    currencyDigits: currencyExponent(currency),
  };
}
