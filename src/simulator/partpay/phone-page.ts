/**
 * The "customer phone" pages: what a shopper sees in the PartPay app, reduced to Approve
 * and Decline. Plain HTML with inline CSS and JS (no CDN: store networks are often offline).
 * Text from orders is inserted with textContent only, never as HTML.
 */

const STYLE = `
:root { color-scheme: light dark; --accent: #0b5cad; --ok: #1b6e3a; --bad: #a3231f; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 32rem; padding: 1rem; }
h1 { font-size: 1.4rem; }
ul { list-style: none; padding: 0; }
li, .order { border: 1px solid #8888; border-radius: .5rem; padding: .75rem; margin-bottom: .75rem; }
.amount { font-size: 1.5rem; font-weight: 700; }
.meta { color: inherit; opacity: .85; font-size: .9rem; }
button { font: inherit; padding: .6rem 1.2rem; margin: .5rem .5rem 0 0; border-radius: .4rem; border: 2px solid transparent; color: #fff; cursor: pointer; min-height: 44px; }
button.approve { background: var(--ok); }
button.decline { background: var(--bad); }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button:disabled { opacity: .5; cursor: not-allowed; }
.status { font-weight: 700; text-transform: capitalize; }
`;

/** Shared client script: rendering one order card and posting decisions. */
const SCRIPT_COMMON = `
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function card(o, api, onDone) {
  const box = el('div');
  box.append(el('div', 'amount', o.amount.toFixed(2) + (o.currency ? ' ' + o.currency : '')));
  box.append(el('div', 'meta', 'Merchant reference: ' + o.merchantReference));
  box.append(el('div', 'meta', 'Order number: ' + o.orderNumber));
  const st = el('div', 'meta'); st.append('Status: ', el('span', 'status', o.status)); box.append(st);
  if (o.status === 'pending') {
    for (const [action, label] of [['approve', 'Approve'], ['decline', 'Decline']]) {
      const b = el('button', action, label);
      b.type = 'button';
      b.setAttribute('aria-label', label + ' order ' + o.orderNumber);
      b.addEventListener('click', async () => {
        b.disabled = true;
        const r = await fetch(api + '/orders/' + encodeURIComponent(o.orderId) + '/' + action, { method: 'POST' });
        say(r.ok ? label + 'd order ' + o.orderNumber : 'Could not ' + action + ' order ' + o.orderNumber + ' (' + r.status + ')');
        onDone();
      });
      box.append(b);
    }
  }
  return box;
}
function say(text) { document.getElementById('announce').textContent = text; }
`;

function page(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body><main>${body}</main>
<p id="announce" role="status" aria-live="polite"></p>
<script>${SCRIPT_COMMON}${script}</script>
</body></html>`;
}

/** JSON-encodes a value for safe embedding inside a <script> element. */
function scriptValue(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The list of pending orders with Approve / Decline, refreshed every 2 seconds. */
export function phoneListPage(apiBase: string): string {
  return page(
    'PartPay simulator: customer phone',
    `<h1>PartPay simulator: customer phone</h1>
<p>Orders waiting for the customer. Approve or decline as the shopper would in the PartPay app.</p>
<section aria-labelledby="pending-heading"><h2 id="pending-heading">Pending orders</h2><ul id="orders" aria-live="polite"></ul><p id="empty">No pending orders.</p></section>`,
    `
const api = ${scriptValue(apiBase)};
let shown = null;
async function refresh() {
  try {
    const r = await fetch(api + '/orders?status=pending');
    const { orders } = await r.json();
    // Rebuild only on change, so the live region does not re-announce the same orders every 2 s.
    const key = JSON.stringify(orders);
    if (key === shown) return;
    shown = key;
    const list = document.getElementById('orders');
    const focused = document.activeElement && document.activeElement.getAttribute('aria-label');
    list.replaceChildren(...orders.map((o) => { const li = el('li'); li.append(card(o, api, refresh)); return li; }));
    document.getElementById('empty').hidden = orders.length > 0;
    if (focused) { const again = [...list.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === focused); if (again) again.focus(); }
  } catch (e) { say('Simulator unreachable'); }
}
refresh(); setInterval(refresh, 2000);`,
  );
}

/** One order, as the customer sees it after scanning the QR code. */
export function phoneOrderPage(apiBase: string, orderId: string): string {
  return page(
    'PartPay simulator: confirm payment',
    `<h1>Confirm your PartPay payment</h1><div class="order" id="order" aria-live="polite">Loading…</div>`,
    `
const api = ${scriptValue(apiBase)};
const orderId = ${scriptValue(orderId)};
async function refresh() {
  try {
    const r = await fetch(api + '/orders/' + encodeURIComponent(orderId));
    const box = document.getElementById('order');
    if (!r.ok) { box.textContent = 'Order not found.'; return; }
    box.replaceChildren(card(await r.json(), api, refresh));
  } catch (e) { say('Simulator unreachable'); }
}
refresh(); setInterval(refresh, 2000);`,
  );
}
