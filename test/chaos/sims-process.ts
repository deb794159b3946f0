/**
 * The upstream parties of the crash suites in a process of their own, so that they outlive
 * every SIGKILL of the daemon and keep their books across its restarts: the PartPay simulator
 * and an Electrum partner simulator. Started by `startSims` (sims-client.ts) with its settings
 * as one JSON argument; reports its URLs over IPC, then answers the test's requests (the
 * customer approving, the wallet scanning, fault switches, and the ledgers to compare against).
 */
import { createServer } from 'node:http';
import { createElectrumPartnerSimulator } from '../../src/simulator/electrum-partner/index.js';
import { settledMinor } from '../../src/simulator/electrum-partner/partner-ledger.js';
import { createPartPaySimulator } from '../../src/simulator/partpay/index.js';
import type { SimsRequest, SimsSettings } from './sims-client.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as SimsSettings;

// PartPay behind a switch that refuses only its cancel endpoint: a cancel that cannot reach
// PartPay while everything else does (the fault options would fail every call).
let cancelsFail = false;
const front = createServer((req, res) => {
  if (cancelsFail && req.method === 'POST' && /\/cancel(\?|$)/.test(req.url ?? '')) {
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"title":"Service Unavailable"}');
    return;
  }
  void partpay.app(req, res);
});
await new Promise<void>((ok) => front.listen(0, '127.0.0.1', ok));
const partpayUrl = `http://127.0.0.1:${(front.address() as { port: number }).port}`;

const partpay = createPartPaySimulator({
  protocol: {},
  audience: settings.audience,
  merchants: [{ ...settings.merchant, qrDelivery: 'base64' }],
  callbackUrl: `${settings.daemonUrl}/partpay/callback`,
  // Retries span the daemon's downtime (0.2 + 0.4 + ... s); reconciliation covers the rest.
  callbackRetry: { attempts: 7, initialDelayMs: 200 },
  // Long enough that no order expires while the suites run.
  orderTtlMs: 3_600_000,
  publicUrl: partpayUrl,
});
const partner = createElectrumPartnerSimulator({
  partnerId: settings.partner.id,
  partnerName: settings.partner.name,
  intermediateUrl: `${settings.daemonUrl}/qr/v1`,
  credentials: { username: settings.partner.id, password: settings.partner.password },
  expects: { username: 'tenderbridge', password: settings.partner.outboundPassword },
  // The suites look payments up by request id long after they were made.
  historyLimit: 1_000_000,
});

/** Every order for one payment of ours (PartPay's gatewayReference), with its refunds. */
const ordersOf = (paymentId: string) => partpay.orders().filter((o) => o.gatewayReference === paymentId);

async function handle(request: SimsRequest): Promise<unknown> {
  switch (request.op) {
    case 'approve':
      return partpay.approve(request.orderId);
    case 'decline':
      return partpay.decline(request.orderId);
    case 'setFaults':
      partpay.setFaults(request.faults);
      return null;
    case 'failCancels':
      cancelsFail = request.on;
      return null;
    case 'setPartnerFaults':
      partner.setFaults(request.faults);
      return null;
    case 'pendingOrders':
      return partpay.listOrders().filter((o) => o.status === 'pending').map((o) => o.orderId);
    case 'orders':
      return request.paymentId === undefined ? partpay.orders() : ordersOf(request.paymentId);
    case 'scan':
      return partner.scan(request.qrCode);
    case 'partnerReceived': {
      // What reached the partner, message by message (a repeated advice id is a redelivery the partner answers from memory).
      const r = partner.received();
      const advices = (list: typeof r.reversals) => list.map((m) => ({ id: (m.body as { id?: string }).id ?? '', requestId: (m.body as { requestId?: string }).requestId ?? '', status: m.status }));
      return { payments: r.payments.map((m) => ({ requestId: (m.body as { id?: string }).id ?? '', tranId: (m.body as { tranId?: string }).tranId ?? '', status: m.status })), confirmations: advices(r.confirmations), reversals: advices(r.reversals) };
    }
    case 'partnerPayment': {
      const p = partner.payment(request.requestId);
      const reversals = partner.received().reversals.filter((m) => (m.body as { requestId?: string }).requestId === request.requestId).length;
      return p
        ? { state: p.state, amountMinor: p.amountMinor, approvedMinor: p.approvedMinor, finalMinor: p.finalMinor, settledMinor: settledMinor(p), reversals }
        : { state: 'none', amountMinor: null, approvedMinor: null, finalMinor: null, settledMinor: 0, reversals };
    }
  }
}

process.on('message', (message: { id: number; request: SimsRequest }) => {
  void handle(message.request).then(
    (value) => process.send?.({ id: message.id, ok: true, value: value ?? null }),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => {
  front.closeAllConnections();
  front.close();
  void Promise.all([partpay.close(), partner.close()]).finally(() => process.exit(0));
});

const partnerUrl = await partner.listen(0, '127.0.0.1');
process.send?.({ ready: true, partpayUrl, partnerUrl });
