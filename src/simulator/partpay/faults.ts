import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

/** A chance in 0..1 (0 = never, the default). */
const chance = z.number().min(0).max(1).default(0);
const range = z.object({ min: z.int().nonnegative(), max: z.int().nonnegative() }).refine((r) => r.min <= r.max, 'min must not exceed max');

/**
 * Faults the PartPay simulator can inject, each with a probability, all drawn from one seed.
 * Everything is off by default. Callback faults are drawn once per callback (not per attempt):
 * a dropped callback is never sent, a wrongly signed one is wrong on every retry.
 */
export const partpayFaultsSchema = z
  .object({
    /** Seed of the fault decisions: the same seed gives the same sequence of decisions. */
    seed: z.int().default(1),
    callbacks: z
      .object({
        /** Never sent at all (reconciliation must fill the gap). */
        drop: chance,
        /** Sent twice, the copies racing each other. */
        duplicate: chance,
        /** Held back for a random time in `delayMs` before the first attempt. */
        delay: chance,
        delayMs: range.default({ min: 200, max: 2_000 }),
        /**
         * After the true callback is acknowledged, a stale, validly signed callback with a
         * contradicting status follows (`declined` after `approved`; for a declined, cancelled
         * or expired order another not-paid status). Never a false `approved`.
         */
        reorder: chance,
        /** Signed with the wrong key on every attempt (the daemon must refuse it). */
        badSignature: chance,
      })
      .prefault({}),
    api: z
      .object({
        /** Answered 500/502/503 before anything is done. */
        error5xx: chance,
        /** Answered 429 with `Retry-After: retryAfterSeconds` before anything is done. */
        rateLimit: chance,
        retryAfterSeconds: z.int().nonnegative().default(1),
        /** Done, but answered after `slowMs` (past the client's timeout: it sees no answer). */
        slow: chance,
        slowMs: z.int().nonnegative().default(1_500),
        /** The connection is reset (socket destroyed), before or after the work is done (a coin toss). */
        reset: chance,
      })
      .prefault({}),
    token: z
      .object({
        /** The token endpoint answers 503 with an OAuth error body. */
        error: chance,
        /** Tokens stop working after `earlyExpirySeconds` although `expires_in` promises more. */
        earlyExpiry: chance,
        earlyExpirySeconds: z.number().nonnegative().default(1),
      })
      .prefault({}),
  })
  .strict();

export type PartPayFaultsInput = z.input<typeof partpayFaultsSchema>;
export type PartPayFaults = z.output<typeof partpayFaultsSchema>;

/** mulberry32: a tiny, fast, seedable PRNG; good enough to pick faults, never for secrets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a of a string, to give each fault its own stream from one seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Seeded fault decisions with a counter per fault. Each fault draws from its own stream, so
 * turning one fault on does not shift the decisions of another; `configure()` restarts the
 * streams from the (new) seed.
 * @example const f = createFaultDice({ seed: 7 }); if (f.roll('api.slow', 0.2)) ...
 */
export function createFaultDice(seed: number) {
  let streams = new Map<string, () => number>();
  let currentSeed = seed;
  let injected: Record<string, number> = {};

  function stream(name: string): () => number {
    let s = streams.get(name);
    if (!s) {
      s = mulberry32(currentSeed ^ hash(name));
      streams.set(name, s);
    }
    return s;
  }

  return {
    /** True with probability `p`; counts a hit under `name`. */
    roll(name: string, p: number): boolean {
      if (p <= 0) return false;
      const hit = stream(name)() < p;
      if (hit) injected[name] = (injected[name] ?? 0) + 1;
      return hit;
    },
    /** A whole number in [min, max] from the stream of `name`. */
    between(name: string, min: number, max: number): number {
      return min + Math.floor(stream(`${name}#value`)() * (max - min + 1));
    },
    /** Restarts every stream from `seed` and zeroes the counters. */
    reseed(next: number): void {
      currentSeed = next;
      streams = new Map();
      injected = {};
    },
    /** Faults injected so far, by name. */
    injected: (): Record<string, number> => ({ ...injected }),
  };
}

export type FaultDice = ReturnType<typeof createFaultDice>;

/** The PartPay simulator's fault state: the options in force and the dice they are drawn with. */
export function createPartPayFaults(input: PartPayFaultsInput = {}) {
  let options = partpayFaultsSchema.parse(input);
  const dice = createFaultDice(options.seed);
  return {
    get options(): PartPayFaults {
      return options;
    },
    dice,
    /** Replaces the faults (and restarts the dice from their seed). */
    configure(next: PartPayFaultsInput): PartPayFaults {
      options = partpayFaultsSchema.parse(next);
      dice.reseed(options.seed);
      return options;
    },
    view: () => ({ faults: options, injected: dice.injected() }),
  };
}

export type PartPayFaultState = ReturnType<typeof createPartPayFaults>;

/**
 * Express middleware for the Terminal API: 5xx and 429 before the handler runs; slow answers
 * and resets after it ran (the order exists upstream but the client never hears so) or, for
 * half the resets, before. `after(ms, fn)` is the simulator's timer set.
 */
export function apiFaultMiddleware(faults: PartPayFaultState, after: (ms: number, fn: () => void) => unknown) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const { api } = faults.options;
    const { dice } = faults;
    if (dice.roll('api.error5xx', api.error5xx)) {
      const status = [500, 502, 503][dice.between('api.error5xx', 0, 2)] as number;
      res.status(status).type('application/problem+json').json({ type: 'about:blank', title: 'Injected fault', status, detail: 'simulated upstream failure' });
      return;
    }
    if (dice.roll('api.rateLimit', api.rateLimit)) {
      res.status(429).set('retry-after', String(api.retryAfterSeconds)).type('application/problem+json').json({ type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'simulated rate limit' });
      return;
    }
    if (dice.roll('api.reset', api.reset)) {
      if (dice.between('api.reset', 0, 1) === 0) {
        req.socket.destroy();
        return;
      }
      // After the work: the client never learns that it was done.
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as Response['end'];
    } else if (dice.roll('api.slow', api.slow)) {
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        after(api.slowMs, () => {
          if (!res.destroyed) end(...args);
        });
        return res;
      }) as Response['end'];
    }
    next();
  };
}

/** Express middleware for the token endpoint: 503 with an OAuth error body. */
export function tokenFaultMiddleware(faults: PartPayFaultState) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (faults.dice.roll('token.error', faults.options.token.error)) {
      res.status(503).set('cache-control', 'no-store').json({ error: 'temporarily_unavailable', error_description: 'simulated token endpoint failure' });
      return;
    }
    next();
  };
}
