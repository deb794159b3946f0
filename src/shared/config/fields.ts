import { isIP } from 'node:net';
import { z } from 'zod';
import { parseHostPattern } from '../net/egress-policy.js';

/** An id of ours (merchant, store, terminal): 1-64 letters, digits, dot, dash or underscore. */
export const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, dot, dash or underscore');

/** An absolute http(s) URL. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** A TCP port; 0 picks a free one. */
export const port = z.number().int().min(0).max(65535);

/** An IP address or a CIDR range. */
export const ipOrCidr = z.string().refine((v) => {
  const [address = '', prefix, extra] = v.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits >= 0 && bits <= (version === 4 ? 32 : 128);
}, 'must be an IP address or CIDR range such as 203.0.113.0/24');

/**
 * Where an outbound party's URLs may point (partners, webhook receivers): https to public
 * addresses unless allowed here. `who` names the party in the docs, e.g. "partner simulators".
 * @example partnerNetwork: egressNetwork('partner simulators', 'a partner may be at (e.g. over a VPN)')
 */
export function egressNetwork(loopbackFor: string, addressesFor: string) {
  return z
    .object({
      /** Demo/test only: allow http:// to a loopback host and loopback addresses, for the parties on this machine. */
      allowLoopbackHttp: z.boolean().default(false).describe(`Demo/test only: allow http:// to a loopback host and loopback addresses, for ${loopbackFor} on this machine.`),
      /** Non-public addresses or CIDR ranges the party may be at; https still applies. */
      allowedAddresses: z.array(ipOrCidr).default([]).describe(`Non-public addresses or CIDR ranges ${addressesFor}; https still applies.`),
    })
    .strict()
    .prefault({});
}

/** An allowed-host entry: exact host, or "*.domain" for its subdomains; without ":port" only the default port. */
export const hostPattern = z.string().refine((v) => parseHostPattern(v) !== null, 'must be a host name or "*.domain", optionally with ":port"');

/** A host name, IP literal (IPv6 in brackets) or "*.domain", without a port. */
export const hostName = z.string().refine((v) => parseHostPattern(v)?.port === null, 'must be a host name, an IP address ("[::1]" for IPv6) or "*.domain", without a port');

/** A web origin exactly as a browser sends it in `Origin`: "https://pos.example.com" or "http://10.0.0.5:3000" (scheme, host, port only; no path, no "*"). */
export const webOrigin = z.string().refine((v) => {
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === v;
  } catch {
    return false;
  }
}, 'must be an origin as browsers send it, e.g. "https://pos.example.com" or "http://10.0.0.5:3000": scheme, host and port only, lower case, no path or trailing slash, no "*"');
