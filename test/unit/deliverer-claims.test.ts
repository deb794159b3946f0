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
