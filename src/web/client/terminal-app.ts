import { createClient, isTenderbridgeError, newIdempotencyKey, type Payment, type TenderbridgeClient } from '../../../clients/typescript/src/index.js';

/**
 * The virtual terminal's browser code. It runs in the page, not in Node: bundled with the typed
 * client (clients/typescript) into /terminal/assets/terminal.js (src/web/browser-bundle.ts).
 * It talks only to the public APIs, the way a POS developer's code would: /v1 through the
 * typed client, /qr/v1 (Electrum's interface, which the client does not cover) with fetch.
 */
export function terminalApp(): void {
  interface Settings {
    demoTerminals: Array<{ id: string; key: string }>;
    demoPosClients: Array<{ id: string; password: string; terminals: string[]; provider: string }>;
    customerPageUrl: string | null;
    walletUrl: string | null;
    walletOrigins: string[];
    currency: string;
    currencyNumeric: string;
    /** ISO 4217 minor-unit digits of `currency` (NZD 2, JPY 0, BHD 3), as the server reads amounts. */
    currencyDigits: number;
  }
  interface Sale {
    flow: 'partpay' | 'electrum';
    key: string;
    /** The typed client with this sale's terminal key. */
    tb: TenderbridgeClient;
    amountMinor: number;
    reference: string;
    paymentId: string | null;
    requestId: string | null;
    tranId: string | null;
    paid: boolean;
    final: boolean;
    stream: AbortController;
  }

  const $ = <T extends HTMLElement>(id: string): T => {
    const found = document.getElementById(id);
    if (!found) throw new Error(`missing #${id}`);
    return found as T;
  };
  const settings = JSON.parse($('settings').textContent ?? '{}') as Settings;
  const params = new URLSearchParams(window.location.search);
  // ?wallet= and ?phone= point the customer links elsewhere (tests). The wallet link hands over
  // the QR code's text, so it may only go to the configured partner simulator's origin.
  const override = (name: string, fallback: string | null, origins: readonly string[] | null): string | null => {
    const v = params.get(name);
    if (!v || !/^https?:\/\//.test(v)) return fallback;
    if (origins === null) return v;
    try {
      return origins.includes(new URL(v).origin) ? v : fallback;
    } catch {
      return fallback;
    }
  };
  const walletUrl = override('wallet', settings.walletUrl, settings.walletOrigins);
  const phoneUrl = override('phone', settings.customerPageUrl, null);

  const form = $<HTMLFormElement>('sale-form');
  const keyInput = $<HTMLInputElement>('terminal-key');
  const amountInput = $<HTMLInputElement>('amount');
  const referenceInput = $<HTMLInputElement>('reference');
  const posId = $<HTMLInputElement>('pos-id');
  const posPassword = $<HTMLInputElement>('pos-password');
  const status = $('status');
  const qrImg = $<HTMLImageElement>('qr');
  const startBtn = $<HTMLButtonElement>('start');
  const cancelBtn = $<HTMLButtonElement>('cancel');
  const refundBtn = $<HTMLButtonElement>('refund');
  const newSaleBtn = $<HTMLButtonElement>('new-sale');
  const formError = $('form-error');
  const links = $('customer-links');
  let sale: Sale | null = null;
  let qrObjectUrl: string | null = null;
  /** Reads the shown PartPay code's text, until someone opens "QR code text". */
  let qrTextOffer: (() => Promise<string>) | null = null;

  $('currency-label').textContent = settings.currency;
  const digits = settings.currencyDigits;
  // The page's example amount is written for two decimals; show one this currency can take.
  if (digits !== 2) amountInput.value = decimal(1995);
  const demoSelect = document.getElementById('demo-terminal') as HTMLSelectElement | null;
  const firstDemo = settings.demoTerminals[0];
  if (firstDemo) keyInput.value = firstDemo.key;
  demoSelect?.addEventListener('change', () => {
    const t = settings.demoTerminals.find((d) => d.id === demoSelect.value);
    keyInput.value = t ? t.key : '';
    if (!t) keyInput.focus();
    void whoAmI();
  });
  const firstPos = settings.demoPosClients.find((c) => c.provider === 'electrum') ?? settings.demoPosClients[0];
  if (firstPos) {
    posId.value = firstPos.id;
    posPassword.value = firstPos.password;
  }
  referenceInput.value = newReference();
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="flow"]')) {
    radio.addEventListener('change', () => {
      $('electrum-fields').hidden = flow() !== 'electrum';
    });
  }
  keyInput.addEventListener('change', () => void whoAmI());
  $<HTMLDetailsElement>('qr-details').addEventListener('toggle', (event) => {
    const offer = qrTextOffer;
    if (!offer || !(event.target as HTMLDetailsElement).open) return;
    qrTextOffer = null;
    void readQrText(offer);
  });
  void whoAmI();

  function flow(): 'partpay' | 'electrum' {
    return document.querySelector<HTMLInputElement>('input[name="flow"]:checked')?.value === 'electrum' ? 'electrum' : 'partpay';
  }
  function newReference(): string {
    const d = new Date();
    const pad = (n: number) => String(n).padStart(2, '0');
    return `SALE-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  }
  const uuid = newIdempotencyKey;
  /** Minor units as a decimal with the currency's digits: 1995 is "19.95" in NZD, "1995" in JPY. */
  function decimal(minor: number): string {
    const text = String(minor).padStart(digits + 1, '0');
    return digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  }
  /** Every amount this page shows is in the merchant currency, the one it sells in. */
  function money(minor: number, currency: string): string {
    return `${currency} ${decimal(minor)}`;
  }
  function log(text: string): void {
    const li = document.createElement('li');
    li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
    const list = $('log');
    list.prepend(li);
  }
  function say(text: string, tone: '' | 'ok' | 'bad' | 'warn' = ''): void {
    status.textContent = text;
    status.className = `status${tone ? ` ${tone}` : ''}`;
  }
  function showError(text: string | null): void {
    formError.hidden = text === null;
    formError.textContent = text ?? '';
  }
  /** The typed client for `key`; its retries show in the log. */
  function clientFor(key: string): TenderbridgeClient {
    return createClient({ baseUrl: '', terminalKey: key, onRetry: (r) => log(`${r.operation}: ${r.error.code}, retry ${r.attempt} in ${r.delayMs} ms`) });
  }
  /** What a failed /v1 call says, for the display. */
  function failure(err: unknown): string {
    if (isTenderbridgeError(err)) return `${err.message} (${err.code})`;
    return err instanceof Error ? err.message : String(err);
  }
  /** The status of a failed /v1 call, for the log. */
  function statusOf(err: unknown): string {
    return isTenderbridgeError(err) ? String(err.status || err.code) : 'failed';
  }
  function basic(): Record<string, string> {
    return { Authorization: `Basic ${btoa(`${posId.value}:${posPassword.value}`)}` };
  }
  async function json(res: Response): Promise<Record<string, unknown>> {
    const text = await res.text();
    try {
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return { message: text };
    }
  }
  function errorText(body: Record<string, unknown>, statusCode: number): string {
    const e = body['error'] as { code?: string; message?: string } | undefined;
    if (e?.message) return `${e.message} (${e.code ?? statusCode})`;
    if (typeof body['errorMessage'] === 'string') return `${String(body['errorType'] ?? '')}: ${body['errorMessage']}${typeof body['detailMessage'] === 'string' ? ` (${body['detailMessage']})` : ''}`;
    return `HTTP ${statusCode}`;
  }

  /** Asks /v1/terminal who the key belongs to. */
  async function whoAmI(): Promise<{ id: string; storeId: string } | null> {
    const info = $('terminal-info');
    if (!keyInput.value) {
      info.textContent = '';
      return null;
    }
    try {
      const terminal = await clientFor(keyInput.value).terminal();
      info.textContent = `Terminal ${terminal.id} in store ${terminal.storeId}`;
      return { id: terminal.id, storeId: terminal.storeId };
    } catch (err) {
      info.textContent = isTenderbridgeError(err) && err.status !== 0 ? `Key not accepted: ${failure(err)}` : 'tenderbridge is not reachable';
      return null;
    }
  }

  async function showQr(image: () => Promise<Blob>, label: string): Promise<void> {
    let blob: Blob;
    try {
      blob = await image();
    } catch (err) {
      log(`QR image: ${failure(err)}`);
      return;
    }
    if (qrObjectUrl) URL.revokeObjectURL(qrObjectUrl);
    qrObjectUrl = URL.createObjectURL(blob);
    qrImg.src = qrObjectUrl;
    qrImg.alt = label;
    qrImg.hidden = false;
  }
  function hideQr(): void {
    qrImg.hidden = true;
    qrImg.removeAttribute('src');
    qrImg.alt = '';
  }
  function showQrText(text: string | null): void {
    qrTextOffer = null;
    $('qr-details').hidden = !text;
    $('qr-text').textContent = text ?? '';
  }
  /** Offers the text of a code whose text is not known yet: read (GET qr.textUrl) only when asked. */
  function offerQrText(read: () => Promise<string>): void {
    showQrText(null);
    const details = $<HTMLDetailsElement>('qr-details');
    details.open = false;
    details.hidden = false;
    qrTextOffer = read;
  }
  async function readQrText(read: () => Promise<string>): Promise<void> {
    const asked = sale;
    $('qr-text').textContent = 'Reading the code…';
    let text: string | Error;
    try {
      text = await read();
      log('GET /v1/payments/:id/qr/text → 200');
    } catch (err) {
      text = new Error(failure(err));
      log(`GET /v1/payments/:id/qr/text → ${statusOf(err)}`);
    }
    if (sale !== asked) return;
    if (typeof text === 'string') showQrText(text);
    else $('qr-text').textContent = `Could not read the code: ${text.message}`;
  }
  function customerLink(href: string, text: string): void {
    const a = document.createElement('a');
    a.className = 'button secondary';
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = text;
    links.replaceChildren(a);
    links.hidden = false;
  }

  function setBusy(busy: boolean): void {
    startBtn.disabled = busy;
    for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) el.disabled = busy;
  }
  function updateButtons(): void {
    cancelBtn.disabled = !sale || sale.final;
    refundBtn.disabled = !sale || sale.flow !== 'partpay' || !sale.paid;
    newSaleBtn.disabled = !sale || !sale.final;
  }

  const OUTCOME: Record<string, [string, '' | 'ok' | 'bad' | 'warn']> = {
    created: ['Creating the order…', ''],
    awaiting_customer: ['Waiting for the customer: scan the code to pay', ''],
    approved: ['Approved: paid', 'ok'],
    declined: ['Declined', 'bad'],
    cancelled: ['Cancelled', 'warn'],
    expired: ['Expired: the customer did not pay in time', 'warn'],
    failed: ['Failed', 'bad'],
    partially_refunded: ['Paid, partly refunded', 'ok'],
    refunded: ['Refunded', 'warn'],
    reversed: ['Reversed', 'warn'],
  };

  /** Shows a /v1 payment as the terminal would. */
  function render(p: Payment): void {
    if (!sale || sale.paymentId !== p.id) return;
    const [text, tone] = OUTCOME[p.state] ?? [p.state, ''];
    say(`${text}${p.refundedMinor > 0 && p.state !== 'refunded' ? ` (${money(p.refundedMinor, p.currency)} refunded)` : ''}`, tone);
    sale.paid = p.paid;
    sale.final = p.final;
    if (p.partpay?.orderNumber) $('order').textContent = `PartPay order ${p.partpay.orderNumber}`;
    if (p.state !== 'awaiting_customer' && p.state !== 'created') {
      hideQr();
      links.hidden = true;
    }
    if (p.qr?.text) showQrText(p.qr.text);
    updateButtons();
    if (p.final) setBusy(false);
  }

  /** Follows the payment's event stream through the client (fetch: EventSource cannot send the key), which resumes with Last-Event-ID. */
  async function follow(s: Sale, id: string): Promise<void> {
    try {
      for await (const e of s.tb.paymentEvents(id, { signal: s.stream.signal })) {
        if (e.type === 'state') {
          log(`event: state ${e.data.state} (version ${e.data.version})`);
          render(e.data);
        } else if (e.type === 'transition') {
          log(`event: transition ${e.data.from ?? 'new'} → ${e.data.to}`);
        } else {
          log('event: shutdown (tenderbridge is restarting)');
        }
      }
    } catch (err) {
      if (!s.stream.signal.aborted) log(`event stream ended: ${failure(err)}`);
    }
  }

  async function startPartPay(s: Sale): Promise<void> {
    say('Creating the PartPay order…');
    let p: Payment;
    try {
      p = await s.tb.createPayment({ amountMinor: s.amountMinor, currency: settings.currency, merchantReference: s.reference });
    } catch (err) {
      s.final = true;
      say(`Could not start: ${failure(err)}`, 'bad');
      log(`POST /v1/payments → ${statusOf(err)}`);
      return;
    }
    s.paymentId = p.id;
    log(`POST /v1/payments → payment ${p.id}`);
    render(p);
    const id = p.id;
    if (p.qr) await showQr(() => s.tb.paymentQrImage(id), `PartPay QR code for ${money(p.amountMinor, p.currency)}`);
    if (p.qr && !p.qr.text) offerQrText(() => s.tb.paymentQrText(id));
    if (phoneUrl) customerLink(phoneUrl, 'Open the customer phone (PartPay simulator)');
    void follow(s, id);
  }

  async function startElectrum(s: Sale): Promise<void> {
    const terminal = await whoAmI();
    if (!terminal) {
      s.final = true;
      say('The terminal key was not accepted', 'bad');
      return;
    }
    const originator = {
      institution: { id: '0001', name: 'Virtual terminal' },
      terminalId: terminal.id,
      merchant: { merchantType: '5999', merchantId: terminal.storeId.replace(/[^0-9A-Za-z]/g, '').padStart(15, '0').slice(-15), merchantName: { name: 'tenderbridge demo', city: 'Auckland', region: 'AK', country: 'NZ' } },
    };
    const client = { id: posId.value, name: 'Virtual terminal' };
    const amount = { amount: s.amountMinor, currency: settings.currencyNumeric };
    say('Asking for an Electrum QR code…');
    const qrRes = await fetch('/qr/v1/qrCodes', {
      method: 'POST',
      headers: { ...basic(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: uuid(), time: new Date().toISOString(), originator, client, qrProperties: { value: amount } }),
    });
    const code = await json(qrRes);
    log(`POST /qr/v1/qrCodes → ${qrRes.status}`);
    if (!qrRes.ok) {
      s.final = true;
      say(`Could not get a QR code: ${errorText(code, qrRes.status)}`, 'bad');
      return;
    }
    const tranId = String(code['tranId']);
    const qrCode = String(code['qrCode']);
    s.tranId = tranId;
    await showQr(() => s.tb.electrumQrImage(tranId), `Electrum QR code for ${money(s.amountMinor, settings.currency)}`);
    showQrText(qrCode);
    $('order').textContent = `tranId ${tranId}`;
    if (walletUrl) customerLink(`${walletUrl}${walletUrl.includes('?') ? '&' : '?'}qr=${encodeURIComponent(qrCode)}`, 'Open in the wallet app (partner simulator)');
    say('Waiting for the customer: scan the code with a wallet app');
    s.requestId = uuid();
    updateButtons();
    const payRes = await fetch('/qr/v1/payments', {
      method: 'POST',
      headers: { ...basic(), 'Content-Type': 'application/json' },
      body: JSON.stringify({
        id: s.requestId,
        time: new Date().toISOString(),
        originator,
        client,
        thirdPartyIdentifiers: [{ institutionId: '0001', transactionIdentifier: s.reference }],
        amounts: { requestAmount: amount },
        tranId,
        tranType: 'GOODS_AND_SERVICES',
        rrn: s.reference.slice(0, 12),
      }),
    });
    const answer = await json(payRes);
    log(`POST /qr/v1/payments → ${payRes.status}${payRes.ok ? '' : ` ${String(answer['errorType'] ?? '')}`}`);
    hideQr();
    links.hidden = true;
    s.final = true;
    if (payRes.status === 201) {
      s.paid = true;
      const partner = answer['partner'] as { name?: string } | undefined;
      say(`Approved: paid${partner?.name ? ` with ${partner.name}` : ''}`, 'ok');
      const conf = await fetch('/qr/v1/payments/confirmations', {
        method: 'POST',
        headers: { ...basic(), 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: uuid(), requestId: s.requestId, time: new Date().toISOString(), thirdPartyIdentifiers: [{ institutionId: '0001', transactionIdentifier: s.reference }] }),
      });
      log(`POST /qr/v1/payments/confirmations → ${conf.status}`);
    } else if (answer['errorType'] === 'NO_SCAN_RECEIVED') {
      say('Expired: no wallet scanned the code in time', 'warn');
    } else if (cancelRequested) {
      say('Cancelled', 'warn');
    } else if (payRes.status === 504 || payRes.status >= 500) {
      say(`No final answer from the wallet: reversed (${errorText(answer, payRes.status)})`, 'warn');
      await reverse(s, 'TIMEOUT');
    } else {
      say(`Declined: ${errorText(answer, payRes.status)}`, 'bad');
    }
    updateButtons();
  }

  let cancelRequested = false;
  async function reverse(s: Sale, reason: 'CANCELLED' | 'TIMEOUT'): Promise<Response> {
    const res = await fetch('/qr/v1/payments/reversals', {
      method: 'POST',
      headers: { ...basic(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: uuid(), requestId: s.requestId, time: new Date().toISOString(), thirdPartyIdentifiers: [{ institutionId: '0001', transactionIdentifier: s.reference }], reversalReason: reason }),
    });
    log(`POST /qr/v1/payments/reversals (${reason}) → ${res.status}`);
    return res;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    showError(null);
    const amountText = amountInput.value.trim();
    const pattern = digits === 0 ? /^\d{1,7}$/ : new RegExp(`^\\d{1,7}(\\.\\d{1,${digits}})?$`);
    if (!pattern.test(amountText) || Number(amountText) <= 0) {
      showError(`Amount: type a positive amount such as ${decimal(1995)}`);
      amountInput.setAttribute('aria-invalid', 'true');
      amountInput.focus();
      return;
    }
    amountInput.removeAttribute('aria-invalid');
    if (!keyInput.value) {
      showError('Terminal API key: type the key of the terminal this page plays');
      keyInput.focus();
      return;
    }
    if (!referenceInput.value.trim()) referenceInput.value = newReference();
    sale?.stream.abort();
    const [whole = '0', frac = ''] = amountText.split('.');
    const s: Sale = {
      flow: flow(),
      key: keyInput.value,
      tb: clientFor(keyInput.value),
      amountMinor: Number(`${whole}${frac.padEnd(digits, '0')}`),
      reference: referenceInput.value.trim(),
      paymentId: null,
      requestId: null,
      tranId: null,
      paid: false,
      final: false,
      stream: new AbortController(),
    };
    sale = s;
    cancelRequested = false;
    $('log').replaceChildren();
    $('order').textContent = '';
    showQrText(null);
    hideQr();
    links.hidden = true;
    $('display-amount').textContent = money(s.amountMinor, settings.currency);
    setBusy(true);
    updateButtons();
    const run = s.flow === 'electrum' ? startElectrum(s) : startPartPay(s);
    run
      .catch((err: unknown) => {
        s.final = true;
        say(`Something went wrong: ${err instanceof Error ? err.message : String(err)}`, 'bad');
      })
      .finally(() => {
        if (s.final) setBusy(false);
        updateButtons();
      });
  });

  cancelBtn.addEventListener('click', async () => {
    const s = sale;
    if (!s) return;
    cancelBtn.disabled = true;
    cancelRequested = true;
    if (s.flow === 'electrum') {
      if (s.requestId) await reverse(s, 'CANCELLED');
      return;
    }
    if (!s.paymentId) return;
    try {
      const p = await s.tb.cancelPayment(s.paymentId);
      log('POST /v1/payments/:id/cancel → 200');
      render(p);
    } catch (err) {
      log(`POST /v1/payments/:id/cancel → ${statusOf(err)}`);
      say(`Not cancelled: ${failure(err)}`, 'warn');
    }
    updateButtons();
  });

  refundBtn.addEventListener('click', async () => {
    const s = sale;
    if (!s?.paymentId) return;
    refundBtn.disabled = true;
    try {
      const { refund, payment } = await s.tb.refundPayment(s.paymentId, { reason: 'refund at the virtual terminal' });
      log(`POST /v1/payments/:id/refunds → refund ${refund.state}`);
      render(payment);
      if (refund.state === 'pending') say('Refund requested: PartPay will confirm it shortly', 'warn');
    } catch (err) {
      log(`POST /v1/payments/:id/refunds → ${statusOf(err)}`);
      say(`Refund refused: ${failure(err)}`, 'bad');
    }
    updateButtons();
  });

  newSaleBtn.addEventListener('click', () => {
    sale?.stream.abort();
    sale = null;
    setBusy(false);
    updateButtons();
    hideQr();
    showQrText(null);
    links.hidden = true;
    $('order').textContent = '';
    $('display-amount').textContent = 'Ready';
    say('No payment in progress.');
    referenceInput.value = newReference();
    amountInput.focus();
  });
}
