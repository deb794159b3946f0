import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createQrCache, createQrImages, type QrSource } from '../../src/qr/index.js';
import { displayProfileSchema, type DisplayProfile } from '../../src/qr/display-profile.js';
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
  /** The profile's image format (png, jpeg, webp). */
  format: string;
  /** The render cache answering a second request. */
  cachedHit: LatencySummary;
  /**
   * CPU time of the main thread (the event loop) per payment, ms, by MAIN_THREAD_CLOCK: what a
   * payment takes from every other request; the rest ran on worker or libuv threads. A mean over
   * all samples of the variant, read once around them all: the scheduler's account of a running
   * thread lags by up to a tick, too coarse for one payment. The image server of the URL variant
   * runs on a thread of its own, so it is not counted.
   */
  mainThreadMs: { base64: number; url: number; renderOnly: number };
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

/**
 * Runs `fn(i)` for each sample in turn: wall time and process CPU (all threads) of each, ms,
 * and the main thread's CPU per sample over them all.
 */
async function measureEach<T>(samples: number, fn: (i: number) => Promise<T>) {
  const wall: number[] = [];
  const cpu: number[] = [];
  const values: T[] = [];
  const main = mainThreadMs();
  for (let i = 0; i < samples; i++) {
    const used = process.cpuUsage();
    const t = monoMs();
    values.push(await fn(i));
    wall.push(monoMs() - t);
    const { user, system } = process.cpuUsage(used);
    cpu.push((user + system) / 1000);
  }
  return { values, wall: latencies(wall), cpu: latencies(cpu), main: (mainThreadMs() - main) / samples };
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
    // Then per profile: the JIT for its encoder, sharp's thread pool and the image fetcher's
    // connection, so a long-running daemon's steady state is measured, not its first payments.
    const warm = async (profile: DisplayProfile) => {
      for (let i = 0; i < 30; i++) {
        await images.render(await images.fromBase64((jpegs[i % samples] as Buffer).toString('base64')), profile);
        await images.render(await images.fromUrl(`${base}/${i % samples}`), profile);
      }
    };
    // A fresh worker's libjpeg-turbo (WebAssembly) and layout code reach their optimised tiers
    // only after some 60-90 payments; a long-running daemon is past that, so warm it first.
    for (let i = 0; i < 100; i++) await images.render(await images.fromBase64((jpegs[i % samples] as Buffer).toString('base64')), displayProfileSchema.parse(PROFILES.default));
    for (const [name, input] of Object.entries(PROFILES)) {
      const profile = displayProfileSchema.parse(input);
      await warm(profile);
      const base64 = jpegs.slice(0, samples).map((j) => j.toString('base64'));
      const b64 = await measureEach(samples, async (i) => {
        const source = await images.fromBase64(base64[i] as string);
        return { source, rendered: await images.render(source, profile) };
      });
      const url = await measureEach(samples, async (i) => images.render(await images.fromUrl(`${base}/${i}`), profile));
      const renderOnly = await measureEach(samples, async (i) => images.render((b64.values[i] as { source: QrSource }).source, profile));
      const cache = createQrCache(images, { maxEntries: 100 });
      const source = await images.fromBase64((jpegs[0] as Buffer).toString('base64'));
      await cache.get('p', async () => source, profile);
      const hits: number[] = [];
      for (let i = 0; i < Math.max(200, samples * 10); i++) {
        const t = monoMs();
        await cache.get('p', async () => source, profile);
        hits.push(monoMs() - t);
      }
      out[name] = {
        format: profile.format,
        base64: b64.wall,
        url: url.wall,
        renderOnly: renderOnly.wall,
        cachedHit: latencies(hits),
        mainThreadMs: { base64: b64.main, url: url.main, renderOnly: renderOnly.main },
        cpuMs: { base64: b64.cpu, url: url.cpu, renderOnly: renderOnly.cpu },
        bytes: (b64.values[0] as { rendered: { body: Buffer } }).rendered.body.length,
      };
    }
  } finally {
    await server.terminate();
    await (images as { close?: () => Promise<void> }).close?.();
  }
  return out;
}
