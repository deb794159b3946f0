import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import express from 'express';
import type { Response } from 'express';
import { z } from 'zod';
import { minorToDecimal, numericToAlpha } from '../../electrum/currency.js';
import type { ScanNotification } from '../../electrum/schemas.js';
import { createLogger } from '../../shared/logger.js';
import { createTimerSet } from '../partpay/timers.js';
import { createElectrumPartnerFaults, electrumPartnerFaultsSchema, postScan, type ElectrumPartnerFaultsInput } from './faults.js';
import { electrumPartnerSimulatorOptionsSchema, type ElectrumPartnerSimulatorOptionsInput } from './options.js';
import { createPartnerApi, type PartnerApiCounters } from './partner-api.js';
import { createPartnerLedger, type PartnerPayment } from './partner-ledger.js';
import { createScanSender } from './scan-sender.js';
import { walletPage } from './wallet-page.js';
import { closeGracefully, listen } from '../../ops/listeners.js';

/** Counters for tests, the demo and the benchmark. */
export interface ElectrumPartnerSimulatorStats extends PartnerApiCounters {
  requests: number;
  payments: number;
  confirmations: number;
  reversals: number;
  scansSent: number;
  scansAccepted: number;
}

const simScanSchema = z.object({ qrCode: z.string().trim().min(1).max(2000), amountMinor: z.int().nonnegative().optional() });

/**
 * A stand-in for an Electrum partner (wallet provider) over real HTTP. It serves the
 * partner's `/qr/v1/payments`, `/confirmations` and `/reversals` behind basic auth (cents .51
 * decline, .52 are never answered, anything else approves), sends `notifyScan` to the
 * intermediate, and has a small "wallet app" page at `/` with JSON `POST /sim/scan`.
 * @example
 * const partner = createElectrumPartnerSimulator({ intermediateUrl: `${daemon}/qr/v1`, credentials: { username: 'demo-partner', password: 'p' }, expects: { username: 'tenderbridge', password: 'q' } });
 * const baseUrl = await partner.listen(0); // the daemon calls `${baseUrl}/qr/v1/payments`
 * await partner.scan(qrCodeText); // { status: 202, body: null }
 */
export function createElectrumPartnerSimulator(input: ElectrumPartnerSimulatorOptionsInput) {
  const options = electrumPartnerSimulatorOptionsSchema.parse(input);
  const logger = (options.logger ?? createLogger({ level: 'error', silent: true })).child({ component: 'electrum-partner-simulator', partnerId: options.partnerId });
  const timers = createTimerSet();
  const ledger = createPartnerLedger(options.historyLimit);
  const held = new Set<Response>();
  const counters: PartnerApiCounters = { unauthorized: 0, approved: 0, declined: 0, held: 0, rejected: 0 };
  const scans = createScanSender({ options, ledger, logger });
  const faults = createElectrumPartnerFaults(options.faults);
  let duplicateScans = 0;
  let server: Server | null = null;
  let listenUrl: string | null = null;
  let requests = 0;

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, _res, next) => {
    requests += 1;
    next();
  });
  app.use('/qr/v1', createPartnerApi({ options, ledger, timers, held, counters, logger, faults }));
  // Fault switches for test runs: the whole fault set is replaced (and the dice re-seeded).
  app.get('/admin/faults', (_req, res) => void res.json(faults.view()));
  app.post('/admin/faults', express.json({ limit: '16kb' }), (req, res) => {
    const parsed = electrumPartnerFaultsSchema.safeParse(req.body ?? {});
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') });
    faults.configure(parsed.data);
    logger.info('faults configured', { faults: parsed.data });
    res.json(faults.view());
  });
  app.get('/', (_req, res) => {
    res.set('cache-control', 'no-store').type('html').send(walletPage(options.partnerName));
  });
  app.get('/sim/payments', (_req, res) => {
    res.json({ payments: ledger.recentPayments().slice(0, 50).map(paymentView), scans: scans.sent().slice(-50).reverse() });
  });
  app.post('/sim/scan', express.json({ limit: '16kb' }), async (req, res) => {
    const parsed = simScanSchema.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: 'send {"qrCode": "<QR text or tranId>", "amountMinor"?: <integer>}' });
    try {
      const result = await scanWithFaults(parsed.data.qrCode, parsed.data.amountMinor === undefined ? {} : { amountMinor: parsed.data.amountMinor });
      res.json({ status: result.status, body: result.body, tranId: result.notification.tranId, notificationId: result.notification.id });
    } catch (err) {
      res.status(502).json({ error: err instanceof Error ? err.message : String(err) });
    }
  });
  app.use((_req, res) => void res.status(404).json({ error: 'no such route on the Electrum partner simulator' }));
  // Malformed bodies and other request errors: a JSON answer, never express's HTML stack trace.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ error: status === 500 ? 'internal error' : 'the request could not be read (expected a JSON body)' });
  });

  function url(): string {
    if (listenUrl === null) throw new Error('the Electrum partner simulator is not listening');
    return listenUrl;
  }

  /**
   * notifyScan; when the `twice` fault hits, two copies race each other (a verbatim resend or
   * a fresh notification id for the same tranId, a coin toss) and the first copy's answer counts.
   */
  async function scanWithFaults(qrCodeOrTranId: string, opts: { amountMinor?: number }): Promise<{ status: number; body: unknown; notification: ScanNotification }> {
    if (!faults.dice.roll('scan.twice', faults.options.twice) || options.intermediateUrl === null || options.credentials === null) return scans.scan(qrCodeOrTranId, opts);
    const notification = scans.notificationFor(qrCodeOrTranId, opts.amountMinor);
    const copy = faults.dice.between('scan.twice', 0, 1) === 1 ? notification : { ...notification, id: randomUUID() };
    const target = `${options.intermediateUrl.replace(/\/+$/, '')}/scans`;
    const [first, second] = await Promise.all([notification, copy].map((n) => postScan(target, options.credentials as { username: string; password: string }, n, options.scanTimeoutMs)));
    duplicateScans += 1;
    if (first?.status === 202 || second?.status === 202) ledger.rememberScan(notification.tranId, notification.partnerPaymentToken ?? null);
    logger.debug('scan sent twice (fault)', { tranId: notification.tranId, statuses: [first?.status, second?.status] });
    if (!first || first.status === null) throw new Error(`notifyScan to ${target} got no answer`);
    return { status: first.status, body: first.body, notification };
  }

  return {
    app,
    /** Starts listening (port 0 picks a free one); resolves with the base URL (the partner's `/qr/v1` is under it). */
    async listen(port = 0, host = '127.0.0.1'): Promise<string> {
      const started = await listen(app, { host, port });
      server = started.server;
      listenUrl = started.url;
      return listenUrl;
    },
    /** Stops timers, destroys held-open payment sockets and closes the server. */
    async close(): Promise<void> {
      timers.closeAll();
      for (const res of held) res.socket?.destroy();
      held.clear();
      const s = server;
      server = null;
      if (!s) return;
      // Clients' keep-alive connections would otherwise hold close() open: no grace.
      await closeGracefully(s, 0);
    },
    url,
    /** Sends notifyScan for QR text (starting `000201`) or a bare tranId; resolves with the intermediate's answer. */
    scan: async (qrCodeOrTranId: string, opts: { amountMinor?: number } = {}): Promise<{ status: number; body: unknown }> => {
      const result = await scanWithFaults(qrCodeOrTranId, opts);
      return { status: result.status, body: result.body };
    },
    /** Replaces the injected faults (same as `POST /admin/faults`). */
    setFaults: (next: ElectrumPartnerFaultsInput) => faults.configure(next),
    /** Faults in force and how many of each were injected. */
    faults: () => ({ ...faults.view(), duplicateScansSent: duplicateScans }),
    /** Everything received on the partner endpoints (raw bodies, time, answer status), oldest first. */
    received: () => ledger.received(),
    /** Payments by request id (state, amount, tranId). */
    payment: (requestId: string) => ledger.payment(requestId),
    stats: (): ElectrumPartnerSimulatorStats => {
      const received = ledger.received();
      const sent = scans.sent();
      return {
        ...counters,
        requests,
        payments: received.payments.length,
        confirmations: received.confirmations.length,
        reversals: received.reversals.length,
        scansSent: sent.length,
        scansAccepted: sent.filter((s) => s.status === 202).length,
      };
    },
  };
}

export type ElectrumPartnerSimulator = ReturnType<typeof createElectrumPartnerSimulator>;

const OUTCOME: Record<PartnerPayment['state'], string> = {
  approved: 'approved',
  declined: 'declined',
  pending: 'no answer (held)',
  confirmed: 'approved and confirmed',
  reversed: 'reversed',
};

function paymentView(p: PartnerPayment) {
  let amount = '';
  if (p.amountMinor !== null && p.currency !== null) {
    try {
      amount = `${numericToAlpha(p.currency) ?? p.currency} ${minorToDecimal(p.amountMinor, p.currency)}`;
    } catch {
      amount = `${p.amountMinor} (${p.currency})`;
    }
  }
  return { requestId: p.requestId, tranId: p.tranId, receivedAt: p.receivedAt, amount, amountMinor: p.amountMinor, currency: p.currency, state: p.state, outcome: OUTCOME[p.state], status: p.status };
}
