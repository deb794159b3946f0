import type { TerminalPageSettings } from '../demo-settings.js';
import { jsonBlock, pageShell } from './shell.js';

const NAV = '<a href="/terminal" aria-current="page">Virtual terminal</a><a href="/console">Operator console</a>';

/**
 * The virtual terminal: what a real lane would show, driven only through the public
 * terminal APIs (/v1 with the terminal's key; /qr/v1 with the POS client's basic auth).
 */
export function terminalPage(settings: TerminalPageSettings): string {
  const demoOptions = settings.demoTerminals.map((t) => `<option value="${t.id}">${t.id}</option>`).join('');
  return pageShell({
    title: 'Virtual terminal · tenderbridge',
    heading: 'Virtual terminal',
    nav: NAV,
    script: '/terminal/assets/terminal.js',
    extraHead: jsonBlock('settings', settings),
    body: `
<div class="grid">
<section class="card" aria-labelledby="sale-heading">
  <h2 id="sale-heading">New sale</h2>
  <form id="sale-form" novalidate>
    ${
      settings.demoTerminals.length > 0
        ? `<label for="demo-terminal">Demo terminal</label>
    <select id="demo-terminal" aria-describedby="demo-terminal-hint">${demoOptions}<option value="">Another terminal (type its key)</option></select>
    <p id="demo-terminal-hint" class="hint">The demo configuration's terminals; picking one fills in its key.</p>`
        : ''
    }
    <label for="terminal-key">Terminal API key</label>
    <input id="terminal-key" name="terminalKey" type="password" autocomplete="off" required aria-describedby="terminal-info">
    <p id="terminal-info" class="hint" aria-live="polite"></p>
    <fieldset>
      <legend>Customer pays with</legend>
      <div class="choice">
        <label><input type="radio" name="flow" value="partpay" checked> PartPay (terminal API)</label>
        <label><input type="radio" name="flow" value="electrum"> Electrum QR (wallet apps)</label>
      </div>
    </fieldset>
    <fieldset id="electrum-fields" hidden>
      <legend>Electrum POS client</legend>
      <label for="pos-id">Client id</label>
      <input id="pos-id" name="posId" autocomplete="off">
      <label for="pos-password">Password</label>
      <input id="pos-password" name="posPassword" type="password" autocomplete="off">
    </fieldset>
    <label for="amount">Amount (<span id="currency-label"></span>)</label>
    <input id="amount" name="amount" inputmode="decimal" required aria-describedby="amount-hint" value="19.95">
    <p id="amount-hint" class="hint">For example 19.95. In the demo, cents .51 are declined and .52 are never decided.</p>
    <label for="reference">Reference</label>
    <input id="reference" name="reference" required maxlength="64" autocomplete="off">
    <p id="form-error" class="status bad" role="alert" hidden></p>
    <div class="actions"><button id="start" type="submit">Start payment</button></div>
  </form>
</section>
<section class="card display" aria-labelledby="display-heading">
  <h2 id="display-heading">Terminal display</h2>
  <p class="amount" id="display-amount">Ready</p>
  <p id="status" class="status" role="status" aria-live="polite" aria-atomic="true">No payment in progress.</p>
  <img id="qr" alt="" hidden>
  <p id="order" class="hint"></p>
  <div id="customer-links" class="actions" hidden></div>
  <details id="qr-details" hidden><summary>QR code text</summary><p id="qr-text" class="qrtext"></p></details>
  <div class="actions">
    <button id="cancel" type="button" class="danger" disabled>Cancel payment</button>
    <button id="refund" type="button" class="secondary" disabled>Refund</button>
    <button id="new-sale" type="button" class="secondary" disabled>New sale</button>
  </div>
</section>
</div>
<section class="card spaced" aria-labelledby="log-heading">
  <h2 id="log-heading">What the terminal saw</h2>
  <ol id="log" class="log" aria-label="Event log"></ol>
</section>`,
  });
}
