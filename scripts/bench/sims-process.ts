/**
 * The upstream parties of the benchmark in a process of their own, so their CPU is not
 * counted as the daemon's: the PartPay simulator (deciding by itself after a delay) and an
 * Electrum partner simulator (a wallet that scans and pays). Reports its URLs to the parent
 * over IPC, and on "drain" the timings the parent subtracts or correlates:
 * - how long the simulator itself took to answer each create-order (the upstream's time);
 * - when each signed callback was sent, and when the daemon answered it.
 * Timings are on CLOCK_MONOTONIC (process.hrtime), which every process on the machine shares.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import QRCode from 'qrcode';
import sharp from 'sharp';
import { createElectrumPartnerSimulator } from '../../src/simulator/electrum-partner/index.js';
import { createPartPaySimulator } from '../../src/simulator/partpay/index.js';
import { monoMs, type SimTimings } from './sims-shared.js';

const { values: arg } = parseArgs({
  options: {
    'partpay-port': { type: 'string' },
    'daemon-url': { type: 'string' },
    'decide-ms': { type: 'string', default: '50' },
    'qr-delivery': { type: 'string', default: 'url' },
    audience: { type: 'string' },
    'merchant-id': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'callback-key': { type: 'string' },
    'partner-id': { type: 'string' },
    'partner-password': { type: 'string' },
    'partner-outbound': { type: 'string' },
  },
  strict: true,
});
const need = (key: keyof typeof arg): string => {
  const v = arg[key];
  if (typeof v !== 'string') throw new Error(`sims-process: --${key} is required`);
  return v;
};

const timings: SimTimings = { creates: [], callbacks: [] };

// Callbacks go out through the global fetch at call time: wrap it to time each one.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!url.endsWith('/partpay/callback') || typeof init?.body !== 'string') return realFetch(input, init);
  const orderId = decodeURIComponent(/(?:^|&)orderId=([^&]*)/.exec(init.body)?.[1] ?? '');
  const sent = monoMs();
  const res = await realFetch(input, init);
  timings.callbacks.push([orderId, sent, monoMs(), res.status]);
  return res;
};

// A real PartPay-sized QR JPEG (modules from qrcode, JPEG by sharp, as the simulator draws
// them), made once: in the "url" variant every order's image URL serves it, so the
// benchmark measures the daemon fetching and re-rendering it, not the simulator drawing it.
async function fixedJpeg(text: string): Promise<Buffer> {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const scale = 6;
  const margin = 4;
  const size = (modules.size + 2 * margin) * scale;
  const data = Buffer.alloc(size * size, 255);
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (!modules.get(row, col)) continue;
      for (let dy = 0; dy < scale; dy++) {
        const start = ((row + margin) * scale + dy) * size + (col + margin) * scale;
        data.fill(0, start, start + scale);
      }
    }
  }
  return sharp(data, { raw: { width: size, height: size, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
}

const partpayPort = Number(need('partpay-port'));
const publicUrl = `http://127.0.0.1:${partpayPort}`;
const jpeg = await fixedJpeg(`${publicUrl}/phone/orders/00000000-0000-4000-8000-000000000000`);
const sim = createPartPaySimulator({
  protocol: {},
  audience: need('audience'),
  merchants: [{ merchantId: need('merchant-id'), clientId: need('client-id'), clientSecret: need('client-secret'), callbackKey: need('callback-key'), qrDelivery: need('qr-delivery') as 'url' | 'base64' }],
  autoDecideAfterMs: Number(arg['decide-ms']),
  callbackRetry: { attempts: 3, initialDelayMs: 50 },
  publicUrl,
});

// Our own server in front of the simulator's express app, to time create-order as the
// simulator sees it (request in, response finished) and to serve the fixed image.
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.method === 'POST' && req.url === '/api/terminal/orders') {
    const started = monoMs();
    const key = String(req.headers['idempotency-key'] ?? '');
    res.on('finish', () => timings.creates.push([key, monoMs() - started]));
  } else if (req.method === 'GET' && req.url?.startsWith('/qr-images/')) {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'private, max-age=300' });
    res.end(jpeg);
    return;
  }
  void sim.app(req, res);
});
server.keepAliveTimeout = 65_000;
await new Promise<void>((ok) => server.listen(partpayPort, '127.0.0.1', ok));

const partner = createElectrumPartnerSimulator({
  partnerId: need('partner-id'),
  partnerName: 'Bench Wallet',
  intermediateUrl: `${need('daemon-url')}/qr/v1`,
  credentials: { username: need('partner-id'), password: need('partner-password') },
  expects: { username: 'tenderbridge', password: need('partner-outbound') },
  historyLimit: 200,
});
const partnerUrl = await partner.listen(0, '127.0.0.1');

process.on('message', (message) => {
  if (message !== 'drain') return;
  process.send?.({ creates: timings.creates.splice(0), callbacks: timings.callbacks.splice(0) } satisfies SimTimings);
});
process.on('SIGTERM', () => {
  void (async () => {
    await sim.close();
    await partner.close();
    server.closeAllConnections();
    server.close(() => process.exit(0));
  })();
});
process.send?.({ partpayUrl: publicUrl, partnerUrl });
