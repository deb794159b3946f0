import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { resolvedProblem, type EgressPolicy } from './egress-policy.js';

/** A connection the egress policy refused; its message says why and which config key would allow it. */
export class EgressRefusedError extends Error {
  readonly code = 'ERR_EGRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'EgressRefusedError';
  }
}

/**
 * The {@link EgressRefusedError} behind a failed request, or null. undici hands the connect
 * error back as it is, but a cause chain is followed in case a layer wraps it.
 */
export function egressRefusal(error: unknown): EgressRefusedError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof EgressRefusedError) return current;
    current = current.cause;
  }
  return null;
}

/**
 * A `lookup` for `net.connect` that resolves once and refuses the connection when any address
 * the name resolves to is one the policy forbids. The socket then connects to an address this
 * function returned, so a name cannot be checked against one answer and connected by another
 * (DNS rebinding). A name with both a public and a private address is refused: that is how
 * rebinding attacks answer.
 * @example new Agent({ connect: { lookup: guardedLookup({ key: 'electrum.partnerNetwork' }) } })
 */
export function guardedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, '');
        return;
      }
      const refusal = addresses.map((a) => resolvedProblem(hostname, a.address, policy)).find((problem) => problem !== null);
      const first = addresses[0];
      if (refusal !== undefined || first === undefined) {
        callback(new EgressRefusedError(refusal ?? `${hostname} resolves to no address`), '');
        return;
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/**
 * An undici Agent whose every connection goes through {@link guardedLookup}. IP-literal hosts
 * skip DNS (node connects to them directly), so callers check URLs with `urlProblem` first.
 * @example const dispatcher = createGuardedAgent({ key: 'partpay.imageFetch' }); await request(url, { dispatcher });
 */
export function createGuardedAgent(policy: EgressPolicy): Agent {
  return new Agent({ connect: { lookup: guardedLookup(policy) } });
}
