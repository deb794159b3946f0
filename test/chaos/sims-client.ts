import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { ElectrumPartnerFaultsInput } from '../../src/simulator/electrum-partner/index.js';
import type { PartPayFaultsInput } from '../../src/simulator/partpay/index.js';
import { CALLBACK_KEY, CLIENT_SECRET, ELECTRUM } from '../support/harness.js';
import { AUDIENCE } from './daemon-process.js';

/** What the simulators' process is started with (one JSON argument). */
export interface SimsSettings {
  daemonUrl: string;
  audience: string;
  merchant: { merchantId: string; clientId: string; clientSecret: string; callbackKey: string };
  partner: { id: string; name: string; password: string; outboundPassword: string };
}

/** A request to the simulators' process. */
export type SimsRequest =
  | { op: 'approve' | 'decline'; orderId: string }
  | { op: 'setFaults'; faults: PartPayFaultsInput }
  | { op: 'failCancels'; on: boolean }
  | { op: 'setPartnerFaults'; faults: ElectrumPartnerFaultsInput }
  | { op: 'pendingOrders' }
  | { op: 'orders'; paymentId?: string }
  | { op: 'scan'; qrCode: string }
  | { op: 'partnerPayment'; requestId: string }
  | { op: 'partnerReceived' };

/** One message the partner received: its id (a pay's request id, an advice's id), the payment it is about, and the status it was answered with (null: unanswered). */
export interface PartnerMessage {
  id: string;
  requestId: string;
  status: number | null;
}

/** Everything the partner received: pays (with their tranId), confirmations and reversals, oldest first. */
export interface PartnerReceived {
  payments: Array<{ requestId: string; tranId: string; status: number | null }>;
  confirmations: PartnerMessage[];
  reversals: PartnerMessage[];
}

/** A PartPay order as the simulator holds it (what the suites compare against). */
export interface SimOrderView {
  orderId: string;
  status: string;
  gatewayReference: string;
  amountCents: number;
  refunds: Array<{ amountCents: number }>;
}

/** An Electrum payment as the partner holds it: its state and what it keeps from the customer. */
export interface PartnerView {
  state: string;
  /** The amount of the PaymentRequest the partner received (null: it received none). */
  amountMinor: number | null;
  approvedMinor: number | null;
  finalMinor: number | null;
  settledMinor: number;
  /** Reversal messages the partner received for it. */
  reversals: number;
}

export type Sims = Awaited<ReturnType<typeof startSims>>;

/**
 * Starts the PartPay simulator and an Electrum partner simulator (partner A of the harness's
 * credentials) in one child process (sims-process.ts), pointed at `daemonUrl`. They outlive
 * every crash of the daemon; `stop()` ends them.
 */
export async function startSims(daemonUrl: string) {
  const settings: SimsSettings = {
    daemonUrl,
    audience: AUDIENCE,
    merchant: { merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: CLIENT_SECRET, callbackKey: CALLBACK_KEY },
    partner: { id: ELECTRUM.partnerA.id, name: ELECTRUM.partnerA.name, password: ELECTRUM.partnerA.password, outboundPassword: ELECTRUM.partnerA.outbound },
  };
  const child: ChildProcess = fork(resolve(import.meta.dirname, 'sims-process.ts'), [JSON.stringify(settings)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const urls = await new Promise<{ partpayUrl: string; partnerUrl: string }>((ok, fail) => {
    child.once('message', (m) => ok(m as { partpayUrl: string; partnerUrl: string }));
    child.once('exit', (code) => fail(new Error(`the simulators' process exited with ${code} while starting`)));
  });
  let next = 0;
  const waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  child.on('message', (m: { id?: number; ok?: boolean; value?: unknown; error?: string }) => {
    const w = m.id === undefined ? undefined : waiting.get(m.id);
    if (!w || m.id === undefined) return;
    waiting.delete(m.id);
    if (m.ok) w.ok(m.value);
    else w.fail(new Error(m.error));
  });
  child.on('exit', () => {
    for (const w of waiting.values()) w.fail(new Error("the simulators' process exited"));
    waiting.clear();
  });
  const ask = <T>(request: SimsRequest): Promise<T> =>
    new Promise<T>((ok, fail) => {
      const id = (next += 1);
      waiting.set(id, { ok: ok as (v: unknown) => void, fail });
      child.send({ id, request });
    });

  return {
    ...urls,
    /** The customer approves (or declines) in the PartPay app; rejects when the order is already final. */
    approve: (orderId: string) => ask<null>({ op: 'approve', orderId }),
    decline: (orderId: string) => ask<null>({ op: 'decline', orderId }),
    /** Replaces the PartPay simulator's faults (none: `{}`). */
    setFaults: (faults: PartPayFaultsInput) => ask<null>({ op: 'setFaults', faults }),
    /** PartPay answers its cancel endpoint 503 (everything else works) while on. */
    failCancels: (on: boolean) => ask<null>({ op: 'failCancels', on }),
    setPartnerFaults: (faults: ElectrumPartnerFaultsInput) => ask<null>({ op: 'setPartnerFaults', faults }),
    pendingOrders: () => ask<string[]>({ op: 'pendingOrders' }),
    /** Every PartPay order (or those of one payment of ours), with refunds. */
    orders: (paymentId?: string) => ask<SimOrderView[]>(paymentId === undefined ? { op: 'orders' } : { op: 'orders', paymentId }),
    /** The wallet's customer scans a QR code: notifyScan; resolves with tenderbridge's answer, rejects when none came. */
    scan: (qrCode: string) => ask<{ status: number; body: unknown }>({ op: 'scan', qrCode }),
    partnerPayment: (requestId: string) => ask<PartnerView>({ op: 'partnerPayment', requestId }),
    /** Every message the partner received (pays, confirmations, reversals), to count deliveries per id. */
    partnerReceived: () => ask<PartnerReceived>({ op: 'partnerReceived' }),
    async stop(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.disconnect();
      await exited;
    },
  };
}
