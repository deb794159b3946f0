import { BlockList, isIPv4 } from 'node:net';
import { addressKind, ipLiteral, isLoopbackHost, unmapped, type AddressKind } from './ip-address.js';

/**
 * Where an outbound client may connect: the rules for URLs someone else hands us (PartPay's QR
 * image URLs) or that config names (Electrum partners). https only; http only to a loopback host
 * and only when allowed (simulators on this machine); never to a non-public address unless
 * allowed. Every refusal names the config key that would allow it.
 */
export interface EgressPolicy {
  /** Config key holding these settings, named in refusals, e.g. 'partpay.imageFetch'. */
  readonly key: string;
  /** Hosts a URL may name ("host[:port]" or "*.domain[:port]", see {@link parseHostPattern}); absent = any host. */
  readonly allowedHosts?: readonly string[] | undefined;
  /** Origins allowed whatever allowedHosts says (PartPay's own API origin). */
  readonly allowedOrigins?: readonly string[] | undefined;
  /** Allow loopback addresses, and http:// to a loopback host: simulators on this machine (demo, tests). */
  readonly allowLoopbackHttp?: boolean | undefined;
  /** Non-public addresses or CIDR ranges allowed anyway (a partner over a VPN); https still applies. */
  readonly allowedAddresses?: readonly string[] | undefined;
}

/** One allowed-host entry, parsed. */
export interface HostPattern {
  /** True for "*.domain": any subdomain of `host`, not `host` itself. */
  subdomains: boolean;
  /** Host name as the URL parser writes it (lower case, punycode, IPv6 in brackets). */
  host: string;
  /** The only port allowed, or null for the scheme's default port. */
  port: string | null;
}

/**
 * Parses an allowed-host entry: "zip.co", "*.zip.co", "img.zip.co:8443", "[::1]:8490". Null if
 * it is not one (a URL, a path, a bare "*").
 * @example parseHostPattern('*.partpay.co.nz') // { subdomains: true, host: 'partpay.co.nz', port: null }
 */
export function parseHostPattern(pattern: string): HostPattern | null {
  const subdomains = pattern.startsWith('*.');
  const rest = subdomains ? pattern.slice(2) : pattern;
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)(:\d{1,5})?$/.test(rest)) return null;
  let url: URL;
  try {
    url = new URL(`https://${rest}`);
  } catch {
    return null;
  }
  const port = /:(\d+)$/.exec(rest)?.[1] ?? null;
  if (port !== null && Number(port) > 65535) return null;
  return { subdomains, host: url.hostname, port: port === null ? null : String(Number(port)) };
}

const defaultPort = (protocol: string): string => (protocol === 'https:' ? '443' : protocol === 'http:' ? '80' : '');

/**
 * True if the URL's host and port match one of the patterns. "*.domain" matches subdomains
 * only; an entry without a port allows only the scheme's default port.
 * @example hostAllowed(new URL('https://api.partpay.co.nz/x'), ['*.partpay.co.nz']) // true
 */
export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  const port = url.port || defaultPort(url.protocol);
  return patterns.some((text) => {
    const pattern = parseHostPattern(text);
    if (pattern === null || (pattern.port ?? defaultPort(url.protocol)) !== port) return false;
    return pattern.subdomains ? url.hostname.endsWith(`.${pattern.host}`) : url.hostname === pattern.host;
  });
}

const allowLists = new WeakMap<readonly string[], BlockList>();

function inAllowedAddresses(address: string, ranges: readonly string[] | undefined): boolean {
  if (ranges === undefined || ranges.length === 0) return false;
  let list = allowLists.get(ranges);
  if (list === undefined) {
    list = new BlockList();
    for (const range of ranges) {
      const [network = '', prefix] = range.split('/');
      const type = isIPv4(network) ? 'ipv4' : 'ipv6';
      if (prefix === undefined) list.addAddress(network, type);
      else list.addSubnet(network, Number(prefix), type);
    }
    allowLists.set(ranges, list);
  }
  const plain = unmapped(address);
  return list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6') || (plain !== address && list.check(address, 'ipv6'));
}

/** The kind of non-public address the policy refuses `address` as, or null if it may be used. */
function refusedKind(address: string, policy: EgressPolicy): AddressKind | null {
  const kind = addressKind(address);
  if (kind === null) return null;
  if (kind === 'loopback' && policy.allowLoopbackHttp === true) return null;
  return inAllowedAddresses(address, policy.allowedAddresses) ? null : kind;
}

const article = (kind: AddressKind): string => (kind === 'unspecified' ? 'an' : 'a');

/**
 * Why the policy refuses a connection to `address`, or null.
 * @example addressProblem('10.0.0.1', { key: 'k' }) // '10.0.0.1 is a private address, not allowed by k.allowedAddresses'
 */
export function addressProblem(address: string, policy: EgressPolicy): string | null {
  const kind = refusedKind(address, policy);
  return kind === null ? null : `${address} is ${article(kind)} ${kind} address, not allowed by ${policy.key}.allowedAddresses`;
}

/**
 * Why the policy refuses `address` as what `hostname` resolved to, or null.
 * @example resolvedProblem('wallet.example', '10.0.0.1', { key: 'k' }) // 'wallet.example resolves to 10.0.0.1, a private address, ...'
 */
export function resolvedProblem(hostname: string, address: string, policy: EgressPolicy): string | null {
  const kind = refusedKind(address, policy);
  return kind === null ? null : `${hostname} resolves to ${address}, ${article(kind)} ${kind} address, not allowed by ${policy.key}.allowedAddresses`;
}

/**
 * Why the policy refuses the URL itself (scheme, host, an IP address in it), or null. Names are
 * judged by the addresses they resolve to when connecting (see `createGuardedAgent`).
 * @example urlProblem(new URL('http://zip.co/'), { key: 'k' }) // 'http:// is refused: https only (...)'
 */
export function urlProblem(url: URL, policy: EgressPolicy): string | null {
  const { key } = policy;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `scheme ${url.protocol} is not https`;
  if (url.protocol === 'http:') {
    if (policy.allowLoopbackHttp !== true) return `http:// is refused: https only (${key}.allowLoopbackHttp allows http to a loopback host, for simulators)`;
    if (!isLoopbackHost(url.hostname)) return `http:// is allowed only to a loopback host (${key}.allowLoopbackHttp); ${url.host} needs https`;
  }
  if (policy.allowedHosts !== undefined && !(policy.allowedOrigins ?? []).includes(url.origin) && !hostAllowed(url, policy.allowedHosts)) {
    return `host ${url.host} is not in ${key}.allowedHosts`;
  }
  const literal = ipLiteral(url.hostname);
  return literal === null ? null : addressProblem(literal, policy);
}

/**
 * {@link urlProblem} for a URL in config, which cannot wait for DNS: also refuses `localhost`
 * and `*.localhost` names as the loopback addresses they always resolve to.
 * @example configUrlProblem(new URL('https://localhost/qr/v1'), { key: 'k' }) // 'localhost resolves to 127.0.0.1, a loopback address, ...'
 */
export function configUrlProblem(url: URL, policy: EgressPolicy): string | null {
  const problem = urlProblem(url, policy);
  if (problem !== null || ipLiteral(url.hostname) !== null || !isLoopbackHost(url.hostname)) return problem;
  return resolvedProblem(url.hostname, '127.0.0.1', policy);
}
