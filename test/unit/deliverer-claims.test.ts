import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDeliverer } from '../../src/outbox/deliverer.js';
import type { OutboxItem } from '../../src/outbox/repository.js';
import { createLogger } from '../../src/shared/logger.js';

// On PostgreSQL claiming what is due is a write (its lease): a server that is full or gone away
// refuses the claim itself. The round must end there with everything still owed, as a full
// SQLite file ends it at the first outcome it cannot record, and never reject (a kick's round
// has no caller: its rejection would be unhandled and stop the daemon).

const item: OutboxItem = { id: 1, kind: 'upstream.cancel', paymentId: 'p1', payload: {}, state: 'pending', attempts: 0, nextAttemptAt: 0, lastError: null, createdAt: 0, updatedAt: 0 };

function setup(claimFails: () => unknown) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', stream: new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }) });
  const delivered: number[] = [];
  let owed = [item];
  const outbox = {
    async claimDue() {
      const failure = claimFails();
      if (failure) throw failure;
      const due = owed;
      owed = [];
      return due;
    },
    markDone: async () => undefined,
    postpone: async () => undefined,
    markDead: async () => undefined,
    markRetry: async () => undefined,
  };
  const deliverer = createDeliverer({ outbox, deliver: async (i) => (delivered.push(i.id), 'done'), logger, clock: () => 0, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 });
  return { deliverer, delivered, lines };
}

const diskFull = () => Object.assign(new Error('could not extend file: No space left on device'), { code: '53100', storageFailure: true });

describe('the deliverer when the database refuses its claim', () => {
  it('ends the round without rejecting, logs it, and delivers what is owed once the claim is taken', async () => {
    let full = true;
    const { deliverer, delivered, lines } = setup(() => (full ? diskFull() : null));
    await expect(deliverer.run()).resolves.toBe(0);
    expect(delivered).toEqual([]);
    expect(lines.some((l) => l.includes('owed deliveries not claimed') && l.includes('53100'))).toBe(true);
    full = false;
    await expect(deliverer.run()).resolves.toBe(1);
    expect(delivered).toEqual([1]);
  });

  it('still rejects for a failure that is not the storage (a bug must not pass for a full disk)', async () => {
    const { deliverer } = setup(() => new TypeError('not a storage failure'));
    await expect(deliverer.run()).rejects.toThrow('not a storage failure');
  });
});

describe('claims per round', () => {
  function counting(owedIds: number[], batchSize: number) {
    let owed = owedIds.map((id) => ({ ...item, id }));
    const claims: number[] = [];
    const delivered: number[] = [];
    const outbox = {
      async claimDue(_now: number, limit: number) {
        const due = owed.slice(0, limit);
        owed = owed.slice(limit);
        claims.push(due.length);
        return due;
      },
      markDone: async () => undefined,
      postpone: async () => undefined,
      markDead: async () => undefined,
      markRetry: async () => undefined,
    };
    let onDeliver: (id: number) => void = () => undefined;
    const logger = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
    const deliverer = createDeliverer({ outbox, deliver: async (i) => (delivered.push(i.id), onDeliver(i.id), 'done'), logger, clock: () => 0, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, batchSize });
    return { deliverer, claims, delivered, owe: (id: number) => owed.push({ ...item, id }), whenDelivering: (f: (id: number) => void) => (onDeliver = f) };
  }

  it('claims once for a round that finds fewer than a batch (no second claim to find nothing)', async () => {
    const { deliverer, claims, delivered } = counting([1], 10);
    expect(await deliverer.run()).toBe(1);
    expect(delivered).toEqual([1]);
    expect(claims).toEqual([1]);
  });

  it('claims again after a full batch, until a short one', async () => {
    const { deliverer, claims, delivered } = counting(Array.from({ length: 25 }, (_, i) => i + 1), 10);
    expect(await deliverer.run()).toBe(25);
    expect(delivered).toHaveLength(25);
    expect(claims).toEqual([10, 10, 5]);
    const exact = counting(Array.from({ length: 20 }, (_, i) => i + 1), 10);
    expect(await exact.deliverer.run()).toBe(20);
    expect(exact.claims).toEqual([10, 10, 0]);
  });

  it('delivers what was owed, with a kick, while a round was delivering: in that round or the next', async () => {
    const { deliverer, claims, delivered, owe, whenDelivering } = counting([1], 10);
    whenDelivering((id) => {
      if (id !== 1) return;
      owe(2);
      deliverer.kick();
    });
    await deliverer.run();
    for (let i = 0; i < 50 && delivered.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(delivered).toEqual([1, 2]);
    expect(claims).toEqual([1, 1]);
  });

  it('runs the round again when asked while it delivers a short batch (the scheduled round meeting a kick)', async () => {
    const { deliverer, claims, delivered, owe, whenDelivering } = counting([1], 10);
    let joined: Promise<number> | null = null;
    whenDelivering((id) => {
      if (id !== 1) return;
      owe(2);
      joined = deliverer.run(); // joins the running round, which must go round once more
    });
    expect(await deliverer.run()).toBe(2);
    expect(await joined).toBe(2);
    expect(delivered).toEqual([1, 2]);
    expect(claims).toEqual([1, 1]);
  });
});
