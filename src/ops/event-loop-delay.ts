import { monitorEventLoopDelay } from 'node:perf_hooks';
import client from 'prom-client';

/** Node's default sampling interval: cheap (100 wake-ups a second) and fine enough for a 10 ms target. */
const RESOLUTION_MS = 10;
const QUANTILES = [0.5, 0.99, 0.999, 1] as const;

/**
 * `tenderbridge_event_loop_delay_seconds{quantile}`: how late the event loop ran a timer due
 * every 10 ms, since the previous scrape (quantile 1 is the maximum). prom-client's
 * `nodejs_eventloop_lag_p*_seconds` come from the same Node histogram but report the whole
 * interval (an idle loop shows 10 ms) and stop at p99, while the tail is what a till feels.
 * Each scrape starts a new window, so one scraper should read it. Returns what stops the sampling.
 */
export function registerEventLoopDelay(registry: client.Registry): () => void {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  new client.Gauge({
    name: 'tenderbridge_event_loop_delay_seconds',
    help: 'How late the event loop ran a timer due every 10 ms, since the last scrape, by quantile (1 = max)',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      // An empty window (no sample yet) reads as 0 rather than Node's huge initial minimum.
      const late = (ns: number) => (histogram.count === 0 ? 0 : Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000);
      for (const q of QUANTILES) this.set({ quantile: String(q) }, late(q === 1 ? histogram.max : histogram.percentile(q * 100)));
      histogram.reset();
    },
  });
  return () => histogram.disable();
}
