/**
 * The virtual terminal's browser code. It runs in the page, not in Node: the server sends
 * `terminalApp.toString()` as a script, so this function must be self-contained (no imports,
 * no outer variables). Written in TypeScript so it is type-checked against the DOM.
 * It talks only to the public APIs, the way a POS developer's code would.
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
  interface PaymentJson {
    id: string;
    state: string;
    version: number;
    final: boolean;
    paid: boolean;
    amountMinor: number;
    currency: string;
    refundedMinor: number;
    partpay: { orderId: string; orderNumber: string | null } | null;
    qr: { imageUrl: string; textUrl: string; text: string | null } | null;
    attention: string | null;
  }
  interface Sale {
    flow: 'partpay' | 'electrum';
    key: string;
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
  /** Where the shown PartPay code's text can be read, until someone opens "QR code text". */
  let qrTextOffer: { url: string; key: string } | null = null;

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
  /** A v4 UUID; crypto.randomUUID needs a secure context, which a terminal on the store LAN over http is not. */
  function uuid(): string {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
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
  function bearer(key: string): Record<string, string> {
    return { Authorization: `Bearer ${key}` };
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
      const res = await fetch('/v1/terminal', { headers: bearer(keyInput.value) });
      const body = await json(res);
      if (!res.ok) {
        info.textContent = `Key not accepted: ${errorText(body, res.status)}`;
        return null;
      }
      info.textContent = `Terminal ${String(body['id'])} in store ${String(body['storeId'])}`;
      return { id: String(body['id']), storeId: String(body['storeId']) };
    } catch {
      info.textContent = 'tenderbridge is not reachable';
      return null;
    }
  }

  async function showQr(url: string, key: string, label: string): Promise<void> {
    const res = await fetch(url, { headers: bearer(key) });
    if (!res.ok) {
      log(`QR image: ${errorText(await json(res), res.status)}`);
      return;
    }
    if (qrObjectUrl) URL.revokeObjectURL(qrObjectUrl);
    qrObjectUrl = URL.createObjectURL(await res.blob());
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
  function offerQrText(url: string, key: string): void {
    showQrText(null);
    const details = $<HTMLDetailsElement>('qr-details');
    details.open = false;
    details.hidden = false;
    qrTextOffer = { url, key };
  }
  async function readQrText(offer: { url: string; key: string }): Promise<void> {
    const asked = sale;
    $('qr-text').textContent = 'Reading the code…';
    const res = await fetch(offer.url, { headers: bearer(offer.key) });
    const body = await json(res);
    log(`GET /v1/payments/:id/qr/text → ${res.status}`);
    if (sale !== asked) return;
    if (res.ok) showQrText(String(body['text']));
    else $('qr-text').textContent = `Could not read the code: ${errorText(body, res.status)}`;
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
  function render(p: PaymentJson): void {
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

  /** Follows /v1/payments/:id/events with fetch (EventSource cannot send the key), resuming with Last-Event-ID. */
  async function follow(id: string, key: string, signal: AbortSignal): Promise<void> {
    let lastId = '0';
    while (!signal.aborted) {
      try {
        const res = await fetch(`/v1/payments/${id}/events`, { headers: { ...bearer(key), Accept: 'text/event-stream', 'Last-Event-ID': lastId }, signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
              else if (line.startsWith('id:')) lastId = line.slice(3).trim();
            }
            if (event === 'state' && data) {
              const p = JSON.parse(data) as PaymentJson;
              log(`event: state ${p.state} (version ${p.version})`);
              render(p);
            } else if (event === 'transition' && data) {
              const t = JSON.parse(data) as { from: string; to: string };
              log(`event: transition ${t.from} → ${t.to}`);
            } else if (event === 'shutdown') {
              log('event: shutdown (tenderbridge is restarting)');
            }
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        log(`event stream interrupted: ${err instanceof Error ? err.message : String(err)}; reconnecting`);
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
  }

  async function startPartPay(s: Sale): Promise<void> {
    say('Creating the PartPay order…');
    const res = await fetch('/v1/payments', {
      method: 'POST',
      headers: { ...bearer(s.key), 'Content-Type': 'application/json', 'Idempotency-Key': uuid() },
      body: JSON.stringify({ amountMinor: s.amountMinor, currency: settings.currency, merchantReference: s.reference }),
    });
    const body = await json(res);
    if (!res.ok) {
      s.final = true;
      say(`Could not start: ${errorText(body, res.status)}`, 'bad');
      log(`POST /v1/payments → ${res.status}`);
      return;
    }
    const p = body as unknown as PaymentJson;
    s.paymentId = p.id;
    log(`POST /v1/payments → ${res.status}, payment ${p.id}`);
    render(p);
    if (p.qr) await showQr(p.qr.imageUrl, s.key, `PartPay QR code for ${money(p.amountMinor, p.currency)}`);
    if (p.qr && !p.qr.text) offerQrText(p.qr.textUrl, s.key);
    if (phoneUrl) customerLink(phoneUrl, 'Open the customer phone (PartPay simulator)');
    void follow(p.id, s.key, s.stream.signal);
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
    await showQr(`/v1/qr-codes/${tranId}`, s.key, `Electrum QR code for ${money(s.amountMinor, settings.currency)}`);
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
    const res = await fetch(`/v1/payments/${s.paymentId}/cancel`, { method: 'POST', headers: bearer(s.key) });
    const body = await json(res);
    log(`POST /v1/payments/:id/cancel → ${res.status}`);
    if (res.ok) render(body as unknown as PaymentJson);
    else say(`Not cancelled: ${errorText(body, res.status)}`, 'warn');
    updateButtons();
  });

  refundBtn.addEventListener('click', async () => {
    const s = sale;
    if (!s?.paymentId) return;
    refundBtn.disabled = true;
    const res = await fetch(`/v1/payments/${s.paymentId}/refunds`, {
      method: 'POST',
      headers: { ...bearer(s.key), 'Content-Type': 'application/json', 'Idempotency-Key': uuid() },
      body: JSON.stringify({ reason: 'refund at the virtual terminal' }),
    });
    const body = await json(res);
    log(`POST /v1/payments/:id/refunds → ${res.status}`);
    if (res.ok) {
      render(body['payment'] as PaymentJson);
      if (res.status === 202) say('Refund requested: PartPay will confirm it shortly', 'warn');
    } else say(`Refund refused: ${errorText(body, res.status)}`, 'bad');
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
