import type { HttpClient } from './http-client.js';
import type { SimTimings } from './sims-shared.js';
import { monoMs } from './stats.js';

/** One full PartPay flow as a terminal lives it, with the times the benchmark needs. */
export interface PartPayFlow {
  paymentId: string;
  orderId: string;
  /** When create was sent (an open loop counts from its schedule instead, see open-loop.ts). */
  sentAt: number;
  /** Terminal's round trip of POST /v1/payments (the PartPay call included). */
  createMs: number;
  /** First GET of the QR image after create. */
  qrMs: number;
  qrBytes: number;
  /** When the long-poll was sent and when its answer (the outcome) arrived. */
  pollSent: number;
  pollAnswered: number;
  end: number;
}

interface PaymentJson {
  id: string;
  state: string;
  version: number;
  partpay: { orderId: string } | null;
}

/**
 * create via /v1 with a terminal key, then at once (as a till does while it shows the
 * code) fetch the QR image and open a long-poll; the PartPay simulator approves by itself,
 * signs and sends the callback, and the long-poll answers with the outcome.
 */
export function partpayFlow(http: HttpClient, terminalKey: string, tag = '') {
  const auth = { authorization: `Bearer ${terminalKey}` };
  let made = 0;
  return async (worker: number): Promise<PartPayFlow> => {
    // Unique across every loop of the run: a repeated key would be an idempotent replay.
    const seq = made++;
    const body = JSON.stringify({ amountMinor: 1000 + (seq % 50), currency: 'NZD', merchantReference: `BENCH-${worker}-${seq}` });
    const t0 = monoMs();
    const created = await http.send('POST', '/v1/payments', { ...auth, 'content-type': 'application/json', 'idempotency-key': `bench-${process.pid}${tag}-${Date.now()}-${seq}` }, body);
    const t1 = monoMs();
    if (created.status !== 201) throw new Error(`create answered ${created.status}: ${created.body.toString('utf8').slice(0, 200)}`);
    const p = http.json<PaymentJson>(created);
    if (!p.partpay) throw new Error(`payment ${p.id} has no PartPay order (state ${p.state})`);
    const pollSent = monoMs();
    // Under load the callback can be applied before create answers: a final answer needs no wait.
    const final = p.state !== 'created' && p.state !== 'awaiting_customer';
    const [qr, poll] = await Promise.all([
      http.send('GET', `/v1/payments/${p.id}/qr`, auth).then((r) => ({ r, at: monoMs() })),
      final ? Promise.resolve({ r: created, at: t1 }) : http.send('GET', `/v1/payments/${p.id}?wait=10&version=${p.version}`, auth).then((r) => ({ r, at: monoMs() })),
    ]);
    if (qr.r.status !== 200 || qr.r.body.length < 100) throw new Error(`QR answered ${qr.r.status} with ${qr.r.body.length} bytes`);
    const outcome = http.json<PaymentJson>(poll.r);
    if ((poll.r.status !== 200 && !final) || outcome.state !== 'approved') throw new Error(`long-poll answered ${poll.r.status} in state ${outcome.state}`);
    return { paymentId: p.id, orderId: p.partpay.orderId, sentAt: t0, createMs: t1 - t0, qrMs: qr.at - t1, qrBytes: qr.r.body.length, pollSent, pollAnswered: poll.at, end: poll.at };
  };
}

/** Per-flow figures that need the simulator's side: its own create time and the callback's timing. */
export function correlate(flows: readonly PartPayFlow[], timings: SimTimings) {
  const upstream = new Map(timings.creates);
  const callbacks = new Map(timings.callbacks.map(([orderId, sent, acked, status]) => [orderId, { sent, acked, status }]));
  const middlewareCreate: number[] = [];
  const upstreamCreate: number[] = [];
  const callbackToTerminal: number[] = [];
  const callbackAck: number[] = [];
  let pollLate = 0;
  for (const f of flows) {
    const up = upstream.get(f.paymentId);
    if (up !== undefined) {
      upstreamCreate.push(up);
      middlewareCreate.push(Math.max(0, f.createMs - up));
    }
    const cb = callbacks.get(f.orderId);
    if (!cb) continue;
    callbackAck.push(cb.acked - cb.sent);
    // Only outcomes a terminal was already waiting for measure the push path.
    if (f.pollSent < cb.sent) callbackToTerminal.push(f.pollAnswered - cb.sent);
    else pollLate += 1;
  }
  return { middlewareCreate, upstreamCreate, callbackToTerminal, callbackAck, pollLate };
}
