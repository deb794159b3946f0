import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerEventLoopDelay } from '../../src/ops/event-loop-delay.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(registry: client.Registry): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'tenderbridge_event_loop_delay_seconds');
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels['quantile']), v.value]));
}

describe('event-loop delay metric', () => {
  it('reports how late the loop ran, not the sampling interval, and starts a new window at each scrape', async () => {
    const registry = new client.Registry();
    registerEventLoopDelay(registry);
    await sleep(30);
    await scrape(registry);
    await sleep(30);
    const blockedAt = Date.now();
    while (Date.now() - blockedAt < 60) {
      // hold the event loop for 60 ms
    }
    await sleep(30);
    const blocked = await scrape(registry);
    expect(Object.keys(blocked).sort()).toEqual(['0.5', '0.99', '0.999', '1']);
    // The sampling timer was due at most 10 ms into the block, so it ran at least 50 ms late.
    expect(blocked['1']).toBeGreaterThanOrEqual(0.05);
    expect(blocked['0.5']).toBeLessThanOrEqual(blocked['0.99'] as number);
    expect(blocked['0.999']).toBeLessThanOrEqual(blocked['1'] as number);
    // A window with no sample in it yet reads 0, not the previous block.
    expect(await scrape(registry)).toEqual({ '0.5': 0, '0.99': 0, '0.999': 0, '1': 0 });
  });
});
