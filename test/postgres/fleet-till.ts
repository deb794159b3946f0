import { sleep, terminalCall, type Answer } from '../chaos/support.js';

/**
 * A till behind a load balancer: it talks to "its" daemon, and when that one does not answer
 * (refused, or cut off mid-request) it sends the same request (same Idempotency-Key, same
 * Electrum ids) to the next daemon, until one answers or the deadline passes.
 */
export interface Till {
  /** Base URLs of the fleet's daemons, in order. */
  bases: readonly string[];
  /** Index of the till's own daemon. */
  home: number;
  deadline: number;
}

export interface TillAnswer<T> extends Answer<T> {
  /** Which daemon answered (an index into `bases`). */
  daemon: number;
}

/**
 * One request, failed over across the fleet until some daemon answers it.
 * @example const created = await tillCall(till, '/v1/payments', { headers, json: { amountMinor: 500, currency: 'NZD' } });
 */
export async function tillCall<T = Record<string, unknown>>(till: Till, path: string, init: { method?: string; headers?: Record<string, string>; json?: unknown; timeoutMs?: number }): Promise<TillAnswer<T>> {
  for (let k = 0; ; k += 1) {
    const daemon = (till.home + k) % till.bases.length;
    try {
      // One attempt (a deadline already past): no answer moves the till on to the next daemon.
      return { ...(await terminalCall<T>(`${till.bases[daemon]}${path}`, init, 0)), daemon };
    } catch (error) {
      if (Date.now() > till.deadline) throw new Error(`${init.method ?? 'GET'} ${path}: no daemon answered before the deadline (${(error as Error).message})`);
      // The next daemon at once; a short pause once round the fleet.
      if (daemon === (till.home + till.bases.length - 1) % till.bases.length) await sleep(100);
    }
  }
}

/** A single attempt on the till's own daemon, no failover (an Electrum pay or createQrCode: never sent twice); status 0 when no answer came. */
export async function tillOnce<T = Record<string, unknown>>(till: Till, daemon: number, path: string, headers: Record<string, string>, json: unknown): Promise<TillAnswer<T>> {
  try {
    const res = await fetch(`${till.bases[daemon]}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(json), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, daemon };
  } catch {
    return { status: 0, body: {} as T, daemon };
  }
}

/**
 * Long-polls a payment until it is final, on whichever daemon answers; the final state and the daemon that told it.
 * @example const told = await tillFinal(till, auth, id, version); // { state: 'approved', daemon: 2 }
 */
export async function tillFinal(till: Till, auth: Record<string, string>, id: string, version: number): Promise<{ state: string | null; daemon: number | null }> {
  let v = version;
  while (Date.now() < till.deadline) {
    const res = await tillCall<{ state: string; version: number; final: boolean }>(till, `/v1/payments/${id}?wait=5&version=${v}`, { headers: auth });
    if (res.status !== 200) {
      await sleep(100);
      continue;
    }
    if (res.body.final) return { state: res.body.state, daemon: res.daemon };
    v = res.body.version;
  }
  return { state: null, daemon: null };
}
