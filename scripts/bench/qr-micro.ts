import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
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
  bytes: number;
}

/**
 * The daemon's QR pipeline, in this process, on images like PartPay's (real QR JPEGs drawn
 * by the simulator's own code, a distinct order URL each): what one payment costs per
 * variant and display profile, and a cached re-fetch.
 */
export async function qrMicro(samples: number): Promise<Record<string, QrProfileFigures>> {
  const sim = createSimQrImages();
  const jpegs = await Promise.all(Array.from({ length: samples }, () => randomUUID()).map((id) => sim.jpeg(id, `http://127.0.0.1:8490/phone/orders/${id}`)));
  const server = createServer((req, res) => {
    const jpeg = jpegs[Number(req.url?.slice(1))] as Buffer;
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
    res.end(jpeg);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // The image server is ours, on loopback over http: allowed as the demo config allows the simulator.
  const images = createQrImages({ fetchTimeoutMs: 5000, maxBytes: 1_048_576, fetchPolicy: { key: 'bench.imageFetch', allowLoopbackHttp: true } });
  const out: Record<string, QrProfileFigures> = {};
  try {
    // Warm the JIT and sharp's thread pool so the first profile is not charged for it.
    for (let i = 0; i < Math.min(3, samples); i++) await images.render(await images.fromBase64((jpegs[i] as Buffer).toString('base64')), displayProfileSchema.parse(PROFILES.default));
    for (const [name, input] of Object.entries(PROFILES)) {
      const profile = displayProfileSchema.parse(input);
      const b64: number[] = [];
      const url: number[] = [];
      const renderOnly: number[] = [];
      let bytes = 0;
      for (let i = 0; i < samples; i++) {
        const data = (jpegs[i] as Buffer).toString('base64');
        let t = monoMs();
        const source = await images.fromBase64(data);
        const r = await images.render(source, profile);
        b64.push(monoMs() - t);
        bytes = r.body.length;
        t = monoMs();
        await images.render(await images.fromUrl(`${base}/${i}`), profile);
        url.push(monoMs() - t);
        t = monoMs();
        await images.render(source, profile);
        renderOnly.push(monoMs() - t);
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
      out[name] = { base64: latencies(b64), url: latencies(url), renderOnly: latencies(renderOnly), cachedHit: latencies(hits), bytes };
    }
  } finally {
    server.close();
  }
  return out;
}
