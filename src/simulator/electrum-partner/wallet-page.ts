/**
 * The "partner wallet app" page: paste the QR text (or a tranId), press Scan, and watch the
 * payments this partner processed. Dependency-free HTML; data is written with textContent only.
 */
export function walletPage(partnerName: string): string {
  const title = `${escapeHtml(partnerName)}: partner wallet app (simulator)`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 1rem auto; padding: 0 1rem; color: #111; }
  label { display: block; font-weight: 600; margin-top: 1rem; }
  textarea, input { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; }
  button { margin-top: 1rem; font: inherit; padding: .5rem 1.5rem; }
  :focus-visible { outline: 3px solid #1a56db; outline-offset: 2px; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { text-align: left; padding: .3rem; border-bottom: 1px solid #ccc; }
  .hint { color: #444; font-size: .9rem; }
  #result { margin-top: 1rem; font-weight: 600; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<form id="scan-form">
  <label for="qr">QR code text or tranId</label>
  <textarea id="qr" name="qrCode" rows="3" required aria-describedby="qr-hint"></textarea>
  <p id="qr-hint" class="hint">Paste the text the till shows under its QR code, starting 000201, or just the tranId. The virtual terminal's "Open in the wallet app" link fills this in.</p>
  <label for="amount">Amount in cents (optional)</label>
  <input id="amount" name="amountMinor" inputmode="numeric" pattern="[0-9]*" aria-describedby="amount-hint">
  <p id="amount-hint" class="hint">Test amounts: cents .51 are declined, .52 are never answered.</p>
  <button type="submit">Scan</button>
</form>
<p id="result" role="status" aria-live="polite"></p>
<h2>Recent payments</h2>
<table>
  <caption class="hint">Payment requests this partner received, newest first.</caption>
  <thead><tr><th scope="col">Received</th><th scope="col">tranId</th><th scope="col">Amount</th><th scope="col">Outcome</th></tr></thead>
  <tbody id="payments"><tr><td colspan="4">None yet.</td></tr></tbody>
</table>
</main>
<script>
const form = document.getElementById('scan-form');
const result = document.getElementById('result');
// The virtual terminal links here with ?qr=<QR text>: the demo's stand-in for pointing a camera at the till.
const fromLink = new URLSearchParams(location.search).get('qr');
if (fromLink) {
  document.getElementById('qr').value = fromLink;
  result.textContent = 'QR code received from the till: press Scan to pay.';
  form.querySelector('button[type="submit"]').focus();
}
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const qrCode = document.getElementById('qr').value.trim();
  const amountText = document.getElementById('amount').value.trim();
  const body = { qrCode };
  if (amountText !== '') body.amountMinor = Number(amountText);
  result.textContent = 'Sending scan...';
  try {
    const res = await fetch('sim/scan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) result.textContent = 'Scan failed: ' + (json.error || res.status);
    else if (json.status === 202) result.textContent = 'Scan accepted (202) for tranId ' + json.tranId + '.';
    else result.textContent = 'Scan declined (' + json.status + ')' + (json.body && json.body.errorMessage ? ': ' + json.body.errorMessage : '') + '.';
  } catch (err) {
    result.textContent = 'Scan failed: ' + err.message;
  }
  refresh();
});
async function refresh() {
  try {
    const res = await fetch('sim/payments');
    const list = await res.json();
    const tbody = document.getElementById('payments');
    const rows = list.payments.map((p) => {
      const tr = document.createElement('tr');
      for (const text of [new Date(p.receivedAt).toLocaleTimeString(), p.tranId, p.amount, p.outcome]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      }
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 4;
      td.textContent = 'None yet.';
      tr.appendChild(td);
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
  } catch {
    // The next refresh tries again.
  }
}
refresh();
setInterval(refresh, 3000);
</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
