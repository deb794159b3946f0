import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createQrCache, createQrImages } from '../../src/qr/index.js';
import { displayProfileSchema } from '../../src/qr/display-profile.js';
import { createQrImages as createSimQrImages } from '../../src/simulator/partpay/qr-images.js';
import { PROFILES } from './setup.js';
import { latencies, monoMs, type LatencySummary } from './stats.js';

/** Per display profile: first render of a payment's QR (source loaded and rendered) per variant, and a cache hit. */
export interface QrProfileFigures {
  /** PartPay's base64 JPEG: decode, read the code, sanitise, render. */
  base64: LatencySummary;
  /** PartPay's image URL: fetch over loopback, then as base64. */
  url: LatencySummary;
  /** Render alone from a loaded source. */
  renderOnly: LatencySummary;
  /** The render cache answering a second request. */
  cachedHit: LatencySummary;
  /**
   * CPU time of the main thread (the event loop) per payment, ms, by MAIN_THREAD_CLOCK: what a
   * payment takes from every other request; the rest ran on worker or libuv threads. The image
   * server of the URL variant runs on a thread of its own, so it is not counted.
   */
  mainThreadMs: { base64: LatencySummary; url: LatencySummary; renderOnly: LatencySummary };
  /** CPU of the whole process per payment (all threads, the image server's included for URL), ms. */
  cpuMs: { base64: LatencySummary; url: LatencySummary; renderOnly: LatencySummary };
  bytes: number;
}

/**
 * CPU time of this process's main thread so far, ms: on Linux from the scheduler's account of
 * that one thread (`/proc/self/task/<pid>/schedstat`, whose first field is ns on a CPU), which
 * a busy box cannot inflate; elsewhere the event loop's busy time, which counts time the thread
 * waited for a core too.
 */
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
export const MAIN_THREAD_CLOCK: 'schedstat' | 'eventLoopUtilization' = existsSync(SCHEDSTAT) ? 'schedstat' : 'eventLoopUtilization';
function mainThreadMs(): number {
  if (MAIN_THREAD_CLOCK === 'schedstat') return Number(readFileSync(SCHEDSTAT, 'latin1').split(' ')[0]) / 1e6;
  return performance.eventLoopUtilization().active;
}

/** Wall time, main-thread CPU and process CPU (all threads) of one awaited call, ms. */
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; main: number; cpu: number }> {
  const main = mainThreadMs();
  const cpu = process.cpuUsage();
  const t = monoMs();
  const value = await fn();
  const wall = monoMs() - t;
  const used = process.cpuUsage(cpu);
  return { value, wall, main: mainThreadMs() - main, cpu: (used.user + used.system) / 1000 };
}

// The image server runs on a thread of its own, so its work is not counted as the pipeline's
// main-thread time. Plain JS evaluated from a string, like the daemon's jsQR worker.
const IMAGE_SERVER = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const jpegs = workerData.jpegs.map((j) => Buffer.from(j));
const server = createServer((req, res) => {
  const jpeg = jpegs[Number(req.url.slice(1))];
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
  res.end(jpeg);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

/**
 * The daemon's QR pipeline, in this process, on images like PartPay's (real QR JPEGs drawn
 * by the simulator's own code, a distinct order URL each): what one payment costs per
 * variant and display profile, and a cached re-fetch.
 */
export async function qrMicro(samples: number): Promise<Record<string, QrProfileFigures>> {
  const sim = createSimQrImages();
  const jpegs = await Promise.all(Array.from({ length: samples }, () => randomUUID()).map((id) => sim.jpeg(id, `http://127.0.0.1:8490/phone/orders/${id}`)));
  const server = new Worker(IMAGE_SERVER, { eval: true, workerData: { jpegs: jpegs.map((j) => new Uint8Array(j)) } });
  const port = await new Promise<number>((ok, fail) => {
    server.once('message', ok);
    server.once('error', fail);
  });
  const base = `http://127.0.0.1:${port}`;
  // The image server is ours, on loopback over http: allowed as the demo config allows the simulator.
  const images = createQrImages({ fetchTimeoutMs: 5000, maxBytes: 1_048_576, fetchPolicy: { key: 'bench.imageFetch', allowLoopbackHttp: true } });
  const out: Record<string, QrProfileFigures> = {};
  try {
    // Warm the JIT and sharp's thread pool so the first profile is not charged for it.
    for (let i = 0; i < Math.min(3, samples); i++) await images.render(await images.fromBase64((jpegs[i] as Buffer).toString('base64')), displayProfileSchema.parse(PROFILES.default));
    for (const [name, input] of Object.entries(PROFILES)) {
      const profile = displayProfileSchema.parse(input);
      const wall = { base64: [] as number[], url: [] as number[], renderOnly: [] as number[] };
      const main = { base64: [] as number[], url: [] as number[], renderOnly: [] as number[] };
      const cpu = { base64: [] as number[], url: [] as number[], renderOnly: [] as number[] };
      const record = (kind: keyof typeof wall, m: { wall: number; main: number; cpu: number }) => {
        wall[kind].push(m.wall);
        main[kind].push(m.main);
        cpu[kind].push(m.cpu);
      };
      let bytes = 0;
      for (let i = 0; i < samples; i++) {
        const data = (jpegs[i] as Buffer).toString('base64');
        const b64 = await measure(async () => {
          const source = await images.fromBase64(data);
          return { source, rendered: await images.render(source, profile) };
        });
        record('base64', b64);
        bytes = b64.value.rendered.body.length;
        record('url', await measure(async () => images.render(await images.fromUrl(`${base}/${i}`), profile)));
        record('renderOnly', await measure(() => images.render(b64.value.source, profile)));
      }
      const cache = createQrCache(images, { maxEntries: 100 });
      const source = await images.fromBase64((jpegs[0] as Buffer).toString('base64'));
      await cache.get('p', async () => source, profile);
      const hits: number[] = [];
      for (let i = 0; i < Math.max(200, samples * 10); i++) {
        const t = monoMs();
        await cache.get('p', async () => source, profile);
        hits.push(monoMs() - t);
      }
      const each = (m: typeof wall) => ({ base64: latencies(m.base64), url: latencies(m.url), renderOnly: latencies(m.renderOnly) });
      out[name] = { ...each(wall), cachedHit: latencies(hits), mainThreadMs: each(main), cpuMs: each(cpu), bytes };
    }
  } finally {
    await server.terminate();
    await (images as { close?: () => Promise<void> }).close?.();
  }
  return out;
}
