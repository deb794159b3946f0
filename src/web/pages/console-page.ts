import { PAYMENT_STATES } from '../../payments/state-machine.js';
import { escapeHtml, jsonBlock, pageShell } from './shell.js';

const NAV = '<a href="/terminal">Virtual terminal</a><a href="/console" aria-current="page">Operator console</a>';

const options = (values: readonly string[], any = 'Any') => [`<option value="">${any}</option>`, ...values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v.replace(/_/g, ' '))}</option>`)].join('');

/**
 * The operator console: live payments, a payment's journal and resolutions, outbox, health, end
 * of day. `currencyDigits` gives the script each merchant currency's ISO 4217 minor-unit digits.
 */
export function consolePage(data: { operator: string; csrfToken: string; stores: string[]; terminals: string[]; currencyDigits: Record<string, number>; version: string }): string {
  return pageShell({
    title: 'Operator console · tenderbridge',
    heading: 'Operator console',
    nav: `${NAV}<span>Signed in as <strong>${escapeHtml(data.operator)}</strong></span><button id="sign-out" type="button" class="secondary">Sign out</button>`,
    script: '/console/assets/console.js',
    extraHead: jsonBlock('console-data', data),
    body: `
<p id="announce" class="sr-only" role="status" aria-live="polite"></p>
<section aria-labelledby="glance-heading">
  <h2 id="glance-heading">At a glance</h2>
  <div id="tiles" class="tiles"></div>
  <ul id="problems"></ul>
</section>

<section class="card spaced" aria-labelledby="attention-heading">
  <h2 id="attention-heading">Needs attention</h2>
  <p class="hint">Late approvals (the customer paid after the terminal was told "not paid") and payments whose state at the provider is unresolved. Open one to resolve it; every resolution is journaled with your name and reason.</p>
  <div class="scroll"><table><caption class="sr-only">Payments needing attention</caption>
    <thead><tr><th scope="col">Created</th><th scope="col">Terminal</th><th scope="col">Reference</th><th scope="col" class="num">Amount</th><th scope="col">State</th><th scope="col">Flag</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody id="attention-rows"></tbody></table></div>
</section>

<section class="card spaced" aria-labelledby="payments-heading">
  <h2 id="payments-heading">Payments</h2>
  <form id="filters" class="filters">
    <div><label for="f-state">State</label><select id="f-state" name="state">${options(['open', 'final', ...PAYMENT_STATES])}</select></div>
    <div><label for="f-store">Store</label><select id="f-store" name="store">${options(data.stores)}</select></div>
    <div><label for="f-terminal">Terminal</label><select id="f-terminal" name="terminal">${options(data.terminals)}</select></div>
    <div><label for="f-provider">Provider</label><select id="f-provider" name="provider">${options(['partpay', 'electrum'])}</select></div>
    <div><label for="f-from">From</label><input id="f-from" name="from" type="date"></div>
    <div><label for="f-to">To (inclusive)</label><input id="f-to" name="to" type="date"></div>
    <div><label for="f-attention">Flagged</label><select id="f-attention" name="attention"><option value="">Any</option><option value="true">Needs attention</option><option value="false">Not flagged</option></select></div>
    <div class="actions"><button type="submit">Apply filters</button><a id="payments-csv" class="button secondary" href="/console/api/payments.csv">Export CSV</a></div>
  </form>
  <div class="choice"><label><input id="live" type="checkbox" checked> Live updates <span id="live-state">(connecting)</span></label></div>
  <div class="scroll"><table><caption class="sr-only">Payments, newest first</caption>
    <thead><tr><th scope="col">Created</th><th scope="col">Provider</th><th scope="col">Store</th><th scope="col">Terminal</th><th scope="col">Reference</th><th scope="col" class="num">Amount</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody id="payment-rows"></tbody></table></div>
</section>

<section id="detail" class="card spaced" aria-labelledby="detail-heading" hidden tabindex="-1">
  <h2 id="detail-heading">Payment</h2>
  <dl id="detail-summary" class="facts"></dl>
  <form id="resolve-form" hidden>
    <h3>Resolve</h3>
    <p class="hint" id="resolve-hint"></p>
    <label for="resolve-action">Action</label>
    <select id="resolve-action" name="action">
      <option value="refund">Refund what the customer paid</option>
      <option value="cancel">Cancel the order at the provider</option>
      <option value="mark-reviewed">Mark reviewed (no money moves)</option>
    </select>
    <label for="resolve-reason">Reason (journaled)</label>
    <textarea id="resolve-reason" name="reason" rows="2" required maxlength="500"></textarea>
    <p id="resolve-result" role="alert"></p>
    <div class="actions"><button type="submit">Resolve payment</button></div>
  </form>
  <h3>Journal</h3>
  <div class="scroll"><table><caption class="sr-only">Journal, oldest first, with raw callback bodies</caption>
    <thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Actor</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead>
    <tbody id="journal-rows"></tbody></table></div>
  <h3>Refunds and owed deliveries</h3>
  <ul id="detail-extra"></ul>
  <div class="actions"><button id="close-detail" type="button" class="secondary">Close</button></div>
</section>

<div class="grid spaced">
<section class="card" aria-labelledby="outbox-heading">
  <h2 id="outbox-heading">Outbox and dead letters</h2>
  <p class="hint">Deliveries tenderbridge still owes (cancels, refunds, partner advices). Dead letters stopped retrying; retry one once its cause is fixed.</p>
  <div class="scroll"><table><caption class="sr-only">Owed deliveries</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col" class="num">Attempts</th><th scope="col">Last error</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody id="outbox-rows"></tbody></table></div>
</section>
<section class="card" aria-labelledby="eod-heading">
  <h2 id="eod-heading">End of day</h2>
  <form id="eod-form" class="filters"><div><label for="eod-date">Day</label><input id="eod-date" type="date" required></div>
  <div class="actions"><button type="submit">Show</button><a id="eod-csv" class="button secondary" href="/console/api/report.csv">Download CSV</a></div></form>
  <div id="eod-chart"></div>
  <div class="scroll"><table id="eod-table" class="figures"><caption class="sr-only">Totals of the day, a column per currency</caption>
    <thead><tr id="eod-head"><th scope="col">Figure</th></tr></thead>
    <tbody id="eod-rows"></tbody></table></div>
</section>
<footer class="version"><p>tenderbridge ${escapeHtml(data.version)}</p></footer>
</div>`,
  });
}
