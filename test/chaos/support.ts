import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { mulberry32 } from '../../src/simulator/partpay/faults.js';

/**
 * Shared pieces of the chaos suites: the scale knob, seeded choices, a terminal that retries
 * like a real one, observers of what a terminal was told, and the summary file.
 */

/** `CHAOS_SCALE` multiplies the bounded numbers `npm test` uses (1 when unset). */
export const SCALE = Math.max(1, Number.parseFloat(process.env['CHAOS_SCALE'] ?? '1') || 1);
/** Base seed of every chaos run; `CHAOS_SEED` replays another. */
export const SEED = Number.parseInt(process.env['CHAOS_SEED'] ?? '20240611', 10);

export const PAID = new Set(['approved', 'partially_refunded', 'refunded']);
export const OPEN = new Set(['created', 'awaiting_customer']);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Seeded choices for one actor (a payment, a killer): the same seed, the same choices. */
export function dice(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    /** Picks a key of `weights` with probability proportional to its weight. */
    pick<K extends string>(weights: Record<K, number>): K {
      const entries = Object.entries(weights) as Array<[K, number]>;
      let r = next() * entries.reduce((sum, [, w]) => sum + w, 0);
      for (const [k, w] of entries) {
        r -= w;
        if (r < 0) return k;
      }
      return (entries[entries.length - 1] as [K, number])[0];
    },
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/**
 * One HTTP call as a terminal makes it: a connection error or a daemon that is not up is
 * retried with the same request (and Idempotency-Key) until `deadline`; an HTTP answer is returned.
 */
export async function terminalCall<T = Record<string, unknown>>(url: string, init: { method?: string; headers?: Record<string, string>; json?: unknown; timeoutMs?: number }, deadline = Date.now() + 30_000): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  for (;;) {
    try {
      const res = await fetch(url, {
        method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
        headers,
        ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
        signal: AbortSignal.timeout(init.timeoutMs ?? 40_000),
      });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      return { status: res.status, body: body as T };
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${init.method ?? 'GET'} ${url}: no answer before the deadline (${(error as Error).message})`);
      await sleep(100);
    }
  }
}

export interface Told {
  /** Final state the long-poll reported (null: never final within the deadline). */
  longPoll: string | null;
  /** Final state the SSE stream reported (undefined: no stream was opened). */
  sse?: string | null;
}

/** Long-polls a payment until it is final; returns the final state the terminal was told. */
export async function longPollFinal(base: string, auth: Record<string, string>, id: string, version: number, deadline: number): Promise<{ state: string | null; version: number }> {
  let v = version;
  while (Date.now() < deadline) {
    const res = await terminalCall<{ state: string; version: number; final: boolean }>(`${base}/v1/payments/${id}?wait=5&version=${v}`, { headers: auth }, deadline);
    if (res.status !== 200) {
      await sleep(100);
      continue;
    }
    if (res.body.final) return { state: res.body.state, version: res.body.version };
    v = res.body.version;
  }
  return { state: null, version: v };
}

/** Follows a payment's SSE stream until a final state (or `deadline`); reconnects with Last-Event-ID. */
export async function sseFinal(base: string, auth: Record<string, string>, id: string, deadline: number): Promise<string | null> {
  let lastId = '0';
  while (Date.now() < deadline) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, deadline - Date.now()));
    try {
      const res = await fetch(`${base}/v1/payments/${id}/events`, { headers: { ...auth, 'last-event-id': lastId }, signal: controller.signal });
      if (!res.body) throw new Error('no body');
      const decoder = new TextDecoder();
      const reader = res.body.getReader();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const eventId = /^id: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (eventId) lastId = eventId;
          if (event === 'state' && data) {
            const p = JSON.parse(data) as { state: string; final: boolean };
            if (p.final) {
              controller.abort();
              return p.state;
            }
          }
        }
      }
    } catch {
      // A dropped stream (or a daemon restart): reconnect below.
    } finally {
      clearTimeout(timer);
    }
    await sleep(100);
  }
  return null;
}

/** Calls `step` until `done()` holds or `timeoutMs` passes; returns whether it held. */
export async function until(done: () => boolean | Promise<boolean>, step: () => Promise<unknown>, timeoutMs: number, pauseMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > end) return false;
    await step();
    await sleep(pauseMs);
  }
}

const SUMMARY = resolve(import.meta.dirname, '../../test-results/chaos-summary.json');

/**
 * Merges `section` into test-results/chaos-summary.json under `key`. The suites run in
 * parallel processes, so a lock file serialises the read-modify-write.
 */
export async function recordSummary(key: string, section: unknown): Promise<void> {
  mkdirSync(dirname(SUMMARY), { recursive: true });
  const lock = `${SUMMARY}.lock`;
  for (let i = 0; ; i += 1) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      if (i > 100) rmSync(lock, { force: true });
      await sleep(20);
    }
  }
  try {
    let current: Record<string, unknown> = {};
    try {
      current = JSON.parse(readFileSync(SUMMARY, 'utf8')) as Record<string, unknown>;
    } catch {
      current = {};
    }
    current[key] = section;
    current['updatedAt'] = new Date().toISOString();
    writeFileSync(`${SUMMARY}.tmp`, `${JSON.stringify(current, null, 2)}\n`);
    renameSync(`${SUMMARY}.tmp`, SUMMARY);
  } finally {
    rmSync(lock, { force: true });
  }
}
