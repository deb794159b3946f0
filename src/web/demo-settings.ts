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
  /** The only origins `/terminal?wallet=` may point the wallet link (and the QR text it carries) at: the configured partner simulator's. */
  walletOrigins: string[];
  /** The merchant currency sales are made in (the first merchant's). */
  currency: string;
  /** ISO 4217 numeric code of `currency`, as Electrum messages carry it. */
  currencyNumeric: string;
  /** ISO 4217 minor-unit digits of `currency`: the page reads typed amounts and shows minor units with these, as the server does. */
  currencyDigits: number;
}

const hostUrl = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

/**
 * The secrets config/default.json ships for the demo. They are published with the code, so
 * showing them gives nothing away; any other value is a real secret, even written inline.
 */
const SHIPPED_DEMO_SECRETS = new Set(['demo-terminal-key', 'demo-terminal-key-2', 'demo-pos-secret', 'demo-pos-partpay-secret']);
const isShippedDemoSecret = (value: unknown): value is string => typeof value === 'string' && SHIPPED_DEMO_SECRETS.has(value);

/**
 * Demo credentials are prefilled only while a simulator runs (the shipped demo config), and
 * only those that are the shipped demo values: a key or password of its own, inline or from a
 * file or the environment, is never shown to whoever opens /terminal. The wallet link carries
 * the QR code's text, so it may only point at the configured partner simulator.
 */
export function terminalPageSettings(config: Config): TerminalPageSettings {
  const { partpay, electrumPartner } = config.simulators;
  const demo = partpay.enabled || electrumPartner.enabled;
  const currency = config.merchants[0]?.currency ?? 'NZD';
  const walletUrl = electrumPartner.enabled ? `${hostUrl(electrumPartner.host, electrumPartner.port)}/` : null;
  return {
    demoTerminals: demo ? config.raw.terminals.flatMap((t) => (isShippedDemoSecret(t.apiKey) ? [{ id: t.id, key: t.apiKey }] : [])) : [],
    demoPosClients: demo ? config.raw.electrum.clients.flatMap((c) => (isShippedDemoSecret(c.password) ? [{ id: c.id, password: c.password, terminals: c.terminals, provider: c.provider }] : [])) : [],
    customerPageUrl: partpay.enabled ? `${hostUrl(partpay.host, partpay.port)}/phone` : null,
    walletUrl,
    walletOrigins: walletUrl === null ? [] : [new URL(walletUrl).origin],
    currency,
    currencyNumeric: alphaToNumeric(currency) ?? '554',
    currencyDigits: currencyExponent(currency),
  };
}
