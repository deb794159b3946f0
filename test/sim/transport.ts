import { Dispatcher } from 'undici';
import type { Random } from './random.js';

/** A request as an in-process peer sees it. */
export interface PeerRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** What a peer answers. */
export interface PeerAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** How long the peer takes before it answers (its own processing), on top of the network's latency. */
  afterMs?: number;
}

/** A party upstream of the daemon, answering at once from its own state (its effects happen when the request arrives). */
export interface Peer {
  handle(req: PeerRequest): PeerAnswer;
}

/** How a link between the daemon and a peer misbehaves, each a chance per request. */
export interface LinkFaults {
  /** Lost on the way: the peer never sees it, the daemon never hears. */
  drop: number;
  /** The connection is reset, before or after the peer acted (a coin toss). */
  reset: number;
  /** 503 before the peer acts. */
  error5xx: number;
  /** 429 with Retry-After: 1 before the peer acts. */
  rateLimit: number;
  /** The peer acts, but answers after `slowMs` (past the daemon's timeout). */
  slow: number;
  slowMs: number;
  /** Latency of an ordinary answer. */
  minDelayMs: number;
  maxDelayMs: number;
}

export const NO_FAULTS: LinkFaults = { drop: 0, reset: 0, error5xx: 0, rateLimit: 0, slow: 0, slowMs: 0, minDelayMs: 1, maxDelayMs: 20 };

/** What the transport needs of the world: chance, virtual timers that outlive a crash, and which daemon is alive. */
export interface TransportWorld {
  rng: Random;
  /** Runs `fn` after `ms` of virtual time, whatever happens to the daemon meanwhile. */
  after(ms: number, fn: () => void): void;
  /** The daemon (incarnation) whose call this is: its answer is lost if it dies meanwhile. */
  caller(): { dead: boolean };
  /** True while the store's uplink is down: nothing gets through, either way. */
  uplinkDown(): boolean;
  trace(line: string): void;
}

type Handler = Dispatcher.DispatchHandler & {
  onConnect?: (abort: (err?: Error) => void, context?: unknown) => void;
  onHeaders?: (status: number, rawHeaders: Buffer[], resume: () => void, statusText: string) => boolean;
  onData?: (chunk: Buffer) => boolean;
  onComplete?: (trailers: Buffer[] | null) => void;
  onError?: (err: Error) => void;
  onResponseStarted?: () => void;
};

async function readBody(body: unknown): Promise<string> {
  if (body === null || body === undefined) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
  }
  return String(body);
}

function flatHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out[String(headers[i]).toLowerCase()] = String(headers[i + 1]);
    return out;
  }
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

const networkError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

/**
 * An undici dispatcher that carries the daemon's outbound calls to in-process peers, on the
 * virtual clock, with seeded faults per link. The peer acts when the request arrives; the
 * answer travels back later, and is lost with the daemon that asked if it crashed meanwhile.
 */
export class SimTransport extends Dispatcher {
  private readonly links = new Map<string, { peer: Peer; faults: () => LinkFaults; name: string }>();
  /** Requests each peer saw, by name (for the run's report). */
  readonly counts: Record<string, number> = {};

  constructor(private readonly world: TransportWorld) {
    super();
  }

  /** Routes calls to `origin` (scheme://host) to `peer`. */
  link(origin: string, name: string, peer: Peer, faults: () => LinkFaults): void {
    this.links.set(new URL(origin).origin, { peer, faults, name });
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const origin = new URL(String(opts.origin)).origin;
    const link = this.links.get(origin);
    const caller = this.world.caller();
    let aborted = false;
    let finished = false;
    handler.onConnect?.((err?: Error) => {
      if (aborted || finished) return;
      aborted = true;
      handler.onError?.(err ?? networkError('UND_ERR_ABORTED', 'aborted'));
    });
    const fail = (err: Error) => {
      // Nobody is left to hear of a failure of a daemon that crashed meanwhile.
      if (aborted || finished || caller.dead) return;
      finished = true;
      handler.onError?.(err);
    };
    const answer = (a: PeerAnswer) => {
      // An answer to a daemon that crashed meanwhile reaches nobody; one after the caller gave up is dropped.
      if (aborted || finished || caller.dead) return;
      finished = true;
      const body = Buffer.from(typeof a.body === 'string' ? a.body : a.body === undefined || a.body === null ? '' : JSON.stringify(a.body));
      const headers = { 'content-type': 'application/json', ...a.headers };
      const raw = Object.entries(headers).flatMap(([k, v]) => [Buffer.from(k), Buffer.from(v)]);
      handler.onResponseStarted?.();
      handler.onHeaders?.(a.status, raw, () => undefined, a.status < 300 ? 'OK' : 'Error');
      if (body.length > 0) handler.onData?.(body);
      handler.onComplete?.([]);
    };
    void readBody(opts.body).then((body) => {
      if (!link) {
        this.world.after(1, () => fail(networkError('ENOTFOUND', `getaddrinfo ENOTFOUND ${origin}`)));
        return;
      }
      const f = link.faults();
      const rng = this.world.rng;
      if (this.world.uplinkDown()) return void this.world.after(f.minDelayMs, () => fail(networkError('ECONNREFUSED', `connect ECONNREFUSED ${origin}`)));
      const req: PeerRequest = { method: String(opts.method), path: String(opts.path), headers: flatHeaders(opts.headers), body };
      this.counts[link.name] = (this.counts[link.name] ?? 0) + 1;
      // The request travels, the peer acts on arrival, the answer travels back: each leg its own latency.
      const inbound = rng.int(`link.${link.name}.delay`, f.minDelayMs, f.maxDelayMs);
      const outbound = rng.int(`link.${link.name}.delay`, f.minDelayMs, f.maxDelayMs);
      const tag = `${link.name} ${req.method} ${req.path}`;
      if (rng.chance(`link.${link.name}.drop`, f.drop)) return void this.world.trace(`net: dropped ${tag}`);
      if (rng.chance(`link.${link.name}.error5xx`, f.error5xx)) return void this.world.after(inbound + outbound, () => answer({ status: 503, body: { title: 'Service Unavailable', detail: 'simulated fault' } }));
      if (rng.chance(`link.${link.name}.rateLimit`, f.rateLimit)) return void this.world.after(inbound + outbound, () => answer({ status: 429, body: { title: 'Too Many Requests' }, headers: { 'retry-after': '1' } }));
      const reset = rng.chance(`link.${link.name}.reset`, f.reset);
      const actsBeforeReset = reset && rng.chance(`link.${link.name}.resetAfter`, 0.5);
      const slow = rng.chance(`link.${link.name}.slow`, f.slow);
      this.world.after(inbound, () => {
        if (reset) {
          if (actsBeforeReset) link.peer.handle(req);
          this.world.trace(`net: reset ${tag}${actsBeforeReset ? ' (after the peer acted)' : ''}`);
          return void this.world.after(outbound, () => fail(networkError('ECONNRESET', 'socket hang up')));
        }
        const result = link.peer.handle(req);
        // A peer that never answers (status 0) leaves the caller to its own timeout.
        if (result.status === 0) return void this.world.trace(`net: ${tag} never answered`);
        this.world.after((slow ? f.slowMs : outbound) + (result.afterMs ?? 0), () => answer(result));
      });
    });
    return true;
  }

  override async close(): Promise<void> {
    return undefined;
  }

  override async destroy(): Promise<void> {
    return undefined;
  }
}
