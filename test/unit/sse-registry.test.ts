import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createSseRegistry } from '../../src/terminals/sse.js';

/**
 * What a signal keeps of the composite signals built from it. Node keeps them in a Set under a
 * private symbol (`kDependantSignals`); the first test shows this probe sees them on this Node.
 */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const set = key === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown> | undefined>)[key];
  return set?.size ?? 0;
}

describe('the long-poll registry (whileOpen)', () => {
  it('the probe sees what AbortSignal.any leaves on a long-lived signal', () => {
    const daemonLong = new AbortController();
    for (let i = 0; i < 100; i++) AbortSignal.any([new AbortController().signal, daemonLong.signal]);
    expect(dependants(daemonLong.signal)).toBe(100);
  });

  it('leaves nothing on the shutdown signal once each long-poll has ended', async () => {
    const sse = createSseRegistry({ heartbeatMs: 1000 });
    for (let i = 0; i < 1000; i++) {
      const request = new AbortController();
      const answer = await sse.whileOpen(request.signal, (signal) => Promise.resolve(signal.aborted ? 'aborted' : 'answered'));
      expect(answer).toBe('answered');
    }
    // A long-poll that failed takes its listeners off too.
    await expect(sse.whileOpen(new AbortController().signal, () => Promise.reject(new Error('read failed')))).rejects.toThrow('read failed');
    expect(dependants(sse.shuttingDown)).toBe(0);
    expect(getEventListeners(sse.shuttingDown, 'abort')).toHaveLength(0);
  });

  it('ends the wait when the terminal hangs up, and when the daemon shuts down', async () => {
    const sse = createSseRegistry({ heartbeatMs: 1000 });
    const untilAborted = (signal: AbortSignal) => new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve('ended'), { once: true }));
    const hangUp = new AbortController();
    const waiting = sse.whileOpen(hangUp.signal, untilAborted);
    hangUp.abort();
    await expect(waiting).resolves.toBe('ended');
    expect(getEventListeners(sse.shuttingDown, 'abort')).toHaveLength(0);

    const request = new AbortController();
    const held = sse.whileOpen(request.signal, untilAborted);
    expect(getEventListeners(sse.shuttingDown, 'abort')).toHaveLength(1);
    sse.closeAll();
    await expect(held).resolves.toBe('ended');
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0);
    // Once shut down (or with the terminal already gone), the work starts with the signal fired.
    await expect(sse.whileOpen(new AbortController().signal, (signal) => Promise.resolve(signal.aborted))).resolves.toBe(true);
    const gone = new AbortController();
    gone.abort();
    await expect(createSseRegistry({ heartbeatMs: 1000 }).whileOpen(gone.signal, (signal) => Promise.resolve(signal.aborted))).resolves.toBe(true);
  });
});
