/**
 * The operator console's browser code, sent as `consoleApp.toString()`: self-contained, no
 * imports. Same-origin fetches carry the session cookie; POSTs add the session's CSRF token.
 * Live updates come over the console's event stream (polling every 3 s only while the stream
 * is down); a 401 means the session ended and opens the sign-in form. Text from the server
 * is written with textContent only, never as HTML.
 */
export function consoleApp(): void {
  type Json = Record<string, unknown>;
  interface Payment {
    id: string;
    provider: string;
    state: string;
    attention: string | null;
    terminalId: string;
    storeId: string;
    merchantReference: string;
    amountMinor: number;
    currency: string;
    refundedMinor: number;
    settledMinor: number;
    upstreamOrderNumber: string | null;
    partpay: { orderId: string; orderNumber: string | null } | null;
    electrum: { requestId: string; tranId: string; partnerId: string | null; advice: string | null } | null;
    resolvedBy: string | null;
    createdAt: string;
    open: boolean;
    paid: boolean;
  }
  interface Figures {
    currency: string;
    approvedCount: number;
    approvedMinor: number;
    declinedCount: number;
    cancelledCount: number;
    expiredCount: number;
    failedCount: number;
    refundedMinor: number;
    lateApprovals: number;
    terminalId?: string;
  }

  const $ = <T extends HTMLElement>(id: string): T => {
    const found = document.getElementById(id);
    if (!found) throw new Error(`missing #${id}`);
    return found as T;
  };
  let selected: string | null = null;
  /** ISO 4217 minor-unit digits of the merchants' currencies, from the server: the console reads amounts as the server does. */
  const pageData = JSON.parse($('console-data').textContent ?? '{}') as { currencyDigits?: Record<string, number>; csrfToken?: string };
  const currencyDigits = pageData.currencyDigits ?? {};
  const csrfToken = pageData.csrfToken ?? '';
  /** Set while refreshes run by themselves (stream, polling): they do not keep the session alive. */
  let background = false;
  function signedOut(): void {
    window.location.assign('/console/login?expired=1');
  }

  function h(tag: string, props: { className?: string; text?: string } = {}, ...children: Array<Node | string>): HTMLElement {
    const e = document.createElement(tag);
    if (props.className) e.className = props.className;
    if (props.text !== undefined) e.textContent = props.text;
    e.append(...children);
    return e;
  }
  function cell(text: string, className = ''): HTMLElement {
    return h('td', { text, className });
  }
  function money(minor: number, currency: string): string {
    const digits = currencyDigits[currency];
    // A currency no configured merchant uses any more: say what the number is rather than guess its digits.
    if (digits === undefined) return `${currency} ${minor} (minor units)`;
    const text = String(Math.abs(minor)).padStart(digits + 1, '0');
    return `${currency} ${minor < 0 ? '-' : ''}${digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`}`;
  }
  function when(iso: string | null): string {
    return iso ? new Date(iso).toLocaleString() : '';
  }
  function announce(text: string): void {
    $('announce').textContent = text;
  }
  function badge(state: string): HTMLElement {
    const tone = ['approved', 'partially_refunded'].includes(state) ? 'ok' : ['declined', 'failed'].includes(state) ? 'bad' : ['cancelled', 'expired', 'refunded', 'reversed'].includes(state) ? 'warn' : '';
    return h('span', { className: `badge ${tone}`, text: state.replace(/_/g, ' ') });
  }
  async function api(path: string, init: RequestInit = {}): Promise<Json> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (init.body) headers['Content-Type'] = 'application/json';
    if (init.method === 'POST') headers['X-CSRF-Token'] = csrfToken;
    if (background) headers['X-Console-Background'] = '1';
    const res = await fetch(`/console/api${path}`, { ...init, headers });
    if (res.status === 401) {
      signedOut();
      throw new Error('signed out');
    }
    const body = (await res.json().catch(() => ({}))) as Json;
    if (!res.ok) {
      const e = body['error'] as { code?: string; message?: string } | undefined;
      throw new Error(e?.message ? `${e.message} (${e.code ?? res.status})` : `HTTP ${res.status}`);
    }
    return body;
  }
  function filterQuery(): string {
    const form = $<HTMLFormElement>('filters');
    const q = new URLSearchParams();
    for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('select, input')) if (el.name && el.value) q.set(el.name, el.value);
    return q.toString();
  }
  function detailButton(p: Payment, label: string): HTMLElement {
    const b = h('button', { className: 'secondary', text: label }) as HTMLButtonElement;
    b.type = 'button';
    b.setAttribute('aria-label', `${label}: ${p.merchantReference} on ${p.terminalId}`);
    b.addEventListener('click', () => void showDetail(p.id, true));
    return b;
  }

  async function loadOverview(): Promise<void> {
    const o = await api('/overview');
    const payments = o['payments'] as { open: number; attention: number };
    const outbox = o['outbox'] as { pending: number; dead: number; oldestPendingAgeSeconds: number };
    const metrics = o['metrics'] as Record<string, number>;
    const today = (o['today'] as Figures[])[0];
    const tiles: Array<[string, string]> = [
      ['Health', o['status'] === 'ok' ? 'OK' : 'Check'],
      ['Open payments', String(payments.open)],
      ['Need attention', String(payments.attention)],
      ['Outbox pending', String(outbox.pending)],
      ['Dead letters', String(outbox.dead)],
      ['Approved today', today ? `${today.approvedCount} · ${money(today.approvedMinor, today.currency)}` : '0'],
      ['PartPay callbacks', String(metrics['callbacks'] ?? 0)],
      ['PartPay call errors', String(metrics['partpayCallErrors'] ?? 0)],
    ];
    $('tiles').replaceChildren(...tiles.map(([k, v]) => h('div', { className: 'tile' }, h('div', { className: 'v', text: v }), h('div', { className: 'k', text: k }))));
    $('problems').replaceChildren(...(o['problems'] as string[]).map((p) => h('li', { text: p })));
  }

  async function loadAttention(): Promise<void> {
    const { payments } = (await api('/payments?attention=true&limit=50')) as { payments: Payment[] };
    const rows = payments.map((p) => {
      const tr = h('tr', { className: 'attention' }, cell(when(p.createdAt)), cell(p.terminalId), cell(p.merchantReference), cell(money(p.amountMinor, p.currency), 'num'), h('td', {}, badge(p.state)), cell((p.attention ?? '').replace(/_/g, ' ')), h('td', {}, detailButton(p, 'Resolve')));
      return tr;
    });
    $('attention-rows').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { text: 'Nothing needs attention.' }))]));
  }

  async function loadPayments(): Promise<void> {
    const query = filterQuery();
    $<HTMLAnchorElement>('payments-csv').href = `/console/api/payments.csv${query ? `?${query}` : ''}`;
    const { payments } = (await api(`/payments?${query}`)) as { payments: Payment[] };
    const rows = payments.map((p) =>
      h(
        'tr',
        { className: p.attention ? 'attention' : '' },
        cell(when(p.createdAt)),
        cell(p.provider),
        cell(p.storeId),
        cell(p.terminalId),
        cell(p.merchantReference),
        cell(money(p.amountMinor, p.currency), 'num'),
        h('td', {}, badge(p.state), ...(p.attention ? [' ', h('span', { className: 'badge warn', text: p.attention.replace(/_/g, ' ') })] : [])),
        h('td', {}, detailButton(p, 'Details')),
      ),
    );
    $('payment-rows').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { text: 'No payments match.' }))]));
  }

  async function showDetail(id: string, focus: boolean): Promise<void> {
    selected = id;
    const d = await api(`/payments/${encodeURIComponent(id)}`);
    const p = d['payment'] as Payment;
    const section = $('detail');
    section.hidden = false;
    $('detail-heading').textContent = `Payment ${p.merchantReference} (${p.terminalId})`;
    const facts: Array<[string, string]> = [
      ['State', p.state.replace(/_/g, ' ')],
      ['Flag', p.attention ? p.attention.replace(/_/g, ' ') : 'none'],
      ['Amount', money(p.amountMinor, p.currency)],
      ['Refunded', money(p.refundedMinor, p.currency)],
      ['Charged now', money(p.settledMinor, p.currency)],
      ['Provider', p.provider],
      ...(p.electrum
        ? ([
            ['Partner', p.electrum.partnerId ?? 'not forwarded'],
            ['POS advice', p.electrum.advice ?? 'none yet'],
          ] as Array<[string, string]>)
        : ([['PartPay order', p.partpay?.orderNumber ?? p.partpay?.orderId ?? '–']] as Array<[string, string]>)),
      ['Created', when(p.createdAt)],
      ['Id', p.id],
    ];
    $('detail-summary').replaceChildren(...facts.map(([k, v]) => h('div', { className: 'fact' }, h('dt', { text: k }), h('dd', { text: v }))));
    const resolvable = p.attention !== null || p.open;
    $('resolve-form').hidden = !resolvable;
    $('resolve-hint').textContent = p.attention === 'late_approval' ? 'The customer paid after the terminal was told the payment failed: refund it (or cancel it at the provider).' : p.open ? 'Still waiting for the customer: cancel it at the provider.' : 'Check the journal, then resolve.';
    if (focus) $<HTMLSelectElement>('resolve-action').value = p.attention === 'late_approval' ? 'refund' : p.open ? 'cancel' : 'mark-reviewed';
    const events = d['events'] as Array<{ at: string; kind: string; actor: string; fromState: string | null; toState: string | null; detail: Json | null; rawBody: string | null }>;
    $('journal-rows').replaceChildren(
      ...events.map((e) => {
        const detail = h('td');
        if (e.detail) detail.append(h('pre', { text: JSON.stringify(e.detail) }));
        if (e.rawBody) detail.append(h('details', {}, h('summary', { text: 'Raw body' }), h('pre', { text: e.rawBody })));
        return h('tr', {}, cell(when(e.at)), cell(e.kind), cell(e.actor), cell(e.toState ? `${e.fromState ?? '–'} → ${e.toState}` : ''), detail);
      }),
    );
    const refunds = (d['refunds'] as Array<{ amountMinor: number; state: string; requestedBy: string; reason: string | null }>).map((r) => h('li', { text: `Refund ${money(r.amountMinor, p.currency)}: ${r.state}, by ${r.requestedBy}${r.reason ? ` (${r.reason})` : ''}` }));
    const owed = (d['outbox'] as Array<{ id: number; kind: string; state: string; attempts: number }>).map((o) => h('li', { text: `Outbox #${o.id} ${o.kind}: ${o.state} after ${o.attempts} attempt(s)` }));
    $('detail-extra').replaceChildren(...(refunds.length + owed.length ? [...refunds, ...owed] : [h('li', { text: 'None.' })]));
    if (focus) section.focus();
  }

  async function loadOutbox(): Promise<void> {
    const { items } = (await api('/outbox')) as { items: Array<{ id: number; kind: string; state: string; attempts: number; lastError: string | null }> };
    const rows = items.map((o) => {
      const actions = h('td');
      if (o.state === 'dead') {
        const b = h('button', { className: 'secondary', text: 'Retry' }) as HTMLButtonElement;
        b.type = 'button';
        b.setAttribute('aria-label', `Retry outbox item ${o.id} (${o.kind})`);
        b.addEventListener('click', async () => {
          b.disabled = true;
          try {
            await api(`/outbox/${o.id}/retry`, { method: 'POST', body: '{}' });
            announce(`Outbox item ${o.id} queued for another attempt`);
          } catch (err) {
            announce(`Retry failed: ${(err as Error).message}`);
          }
          await loadOutbox();
        });
        actions.append(b);
      }
      return h('tr', {}, cell(String(o.id)), cell(o.kind), h('td', {}, h('span', { className: `badge ${o.state === 'dead' ? 'bad' : ''}`, text: o.state })), cell(String(o.attempts), 'num'), cell(o.lastError ?? ''), actions);
    });
    $('outbox-rows').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { text: 'Nothing owed.' }))]));
  }

  /** A small bar chart of approved amount per terminal, as inline SVG with a text alternative. */
  function chart(terminals: Figures[]): SVGElement | HTMLElement {
    if (terminals.length === 0) return h('p', { className: 'hint', text: 'No payments on this day.' });
    const ns = 'http://www.w3.org/2000/svg';
    const rowH = 28;
    const width = 480;
    const labelW = 110;
    const max = Math.max(1, ...terminals.map((t) => t.approvedMinor));
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'chart');
    svg.setAttribute('viewBox', `0 0 ${width} ${terminals.length * rowH + 8}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `Approved amount per terminal: ${terminals.map((t) => `${t.terminalId} ${money(t.approvedMinor, t.currency)}`).join(', ')}`);
    terminals.forEach((t, i) => {
      const y = i * rowH + 4;
      const label = document.createElementNS(ns, 'text');
      label.setAttribute('x', '0');
      label.setAttribute('y', String(y + 17));
      label.textContent = t.terminalId ?? '';
      const bar = document.createElementNS(ns, 'rect');
      const w = Math.max(2, ((width - labelW - 110) * t.approvedMinor) / max);
      bar.setAttribute('x', String(labelW));
      bar.setAttribute('y', String(y + 2));
      bar.setAttribute('width', String(w));
      bar.setAttribute('height', String(rowH - 8));
      bar.setAttribute('fill', '#0b4f9c');
      const value = document.createElementNS(ns, 'text');
      value.setAttribute('x', String(labelW + w + 6));
      value.setAttribute('y', String(y + 17));
      value.textContent = `${money(t.approvedMinor, t.currency)} (${t.approvedCount})`;
      svg.append(label, bar, value);
    });
    return svg;
  }

  async function loadReport(): Promise<void> {
    const date = $<HTMLInputElement>('eod-date').value;
    const r = (await api(`/report?date=${encodeURIComponent(date)}`)) as { totals: Figures[]; terminals: Figures[] };
    $<HTMLAnchorElement>('eod-csv').href = `/console/api/report.csv?date=${encodeURIComponent(date)}`;
    $('eod-chart').replaceChildren(chart(r.terminals));
    // A row per figure and a column per currency: as narrow as the card, however many figures.
    const figures: Array<[string, (t: Figures) => string]> = [
      ['Approved', (t) => String(t.approvedCount)],
      ['Approved amount', (t) => money(t.approvedMinor, t.currency)],
      ['Declined', (t) => String(t.declinedCount)],
      ['Cancelled', (t) => String(t.cancelledCount)],
      ['Expired', (t) => String(t.expiredCount)],
      ['Refunded', (t) => money(t.refundedMinor, t.currency)],
      ['Late approvals', (t) => String(t.lateApprovals)],
    ];
    const head = (text: string, className = '') => {
      const th = h('th', { text, className });
      th.setAttribute('scope', 'col');
      return th;
    };
    $('eod-head').replaceChildren(head('Figure'), ...r.totals.map((t) => head(t.currency, 'num')));
    const rows = r.totals.length === 0 ? [] : figures.map(([label, value]) => {
      const th = h('th', { text: label });
      th.setAttribute('scope', 'row');
      return h('tr', {}, th, ...r.totals.map((t) => cell(value(t), 'num')));
    });
    $('eod-rows').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { text: 'No payments on this day.' }))]));
  }

  async function refreshAll(): Promise<void> {
    try {
      await Promise.all([loadOverview(), loadAttention(), loadPayments(), loadOutbox()]);
      if (selected) await showDetail(selected, false);
    } catch (err) {
      announce(`Could not refresh: ${(err as Error).message}`);
    }
  }

  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    void loadPayments().then(() => announce('Payments filtered'));
  });
  $('close-detail').addEventListener('click', () => {
    selected = null;
    $('detail').hidden = true;
    $('payments-heading').focus();
  });
  $('resolve-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!selected) return;
    const result = $('resolve-result');
    const reason = $<HTMLTextAreaElement>('resolve-reason');
    if (!reason.value.trim()) {
      result.textContent = 'Reason: say why (it is journaled).';
      reason.focus();
      return;
    }
    try {
      const r = await api(`/payments/${encodeURIComponent(selected)}/resolve`, { method: 'POST', body: JSON.stringify({ action: $<HTMLSelectElement>('resolve-action').value, reason: reason.value.trim() }) });
      result.textContent = `Done: ${String(r['result']).replace(/_/g, ' ')}.`;
      reason.value = '';
    } catch (err) {
      result.textContent = `Not resolved: ${(err as Error).message}`;
    }
    await refreshAll();
  });
  $('eod-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void loadReport();
  });
  $('payments-heading').tabIndex = -1;
  const today = new Date();
  $<HTMLInputElement>('eod-date').value = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  void refreshAll();
  void loadReport();
  /** Refreshes by itself; while keyboard focus sits in a table the refresh waits, so focus is not lost. */
  let pending = false;
  function liveRefresh(): void {
    if (!$<HTMLInputElement>('live').checked || document.visibilityState !== 'visible') return;
    if (document.activeElement?.closest('tbody')) {
      pending = true;
      return;
    }
    pending = false;
    background = true;
    void refreshAll().finally(() => {
      background = false;
    });
  }
  document.addEventListener('focusout', () => {
    if (pending) setTimeout(liveRefresh, 0);
  });
  let debounce: ReturnType<typeof setTimeout> | null = null;
  let poll: ReturnType<typeof setInterval> | null = null;
  function liveState(text: string): void {
    $('live-state').textContent = text;
  }
  const stream = new EventSource('/console/api/events');
  stream.addEventListener('open', () => {
    if (poll !== null) {
      clearInterval(poll);
      poll = null;
      // Changes made while the stream was down.
      liveRefresh();
    }
    liveState('(live)');
  });
  stream.addEventListener('payment', () => {
    // A burst of changes becomes one refresh.
    if (debounce !== null) return;
    debounce = setTimeout(() => {
      debounce = null;
      liveRefresh();
    }, 200);
  });
  stream.addEventListener('signed-out', () => {
    stream.close();
    signedOut();
  });
  stream.addEventListener('error', () => {
    // The stream dropped: poll until EventSource reconnects (it retries by itself while CONNECTING).
    if (poll === null) poll = setInterval(liveRefresh, 3000);
    liveState('(stream lost: checking every 3 s)');
  });
  $('sign-out').addEventListener('click', async () => {
    stream.close();
    try {
      await fetch('/console/logout', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken }, body: '{}' });
    } catch {
      // Signed out already, or the daemon is away: the sign-in form either way.
    }
    window.location.assign('/console/login');
  });
}
