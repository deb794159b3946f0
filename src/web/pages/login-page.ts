import { pageShell } from './shell.js';

const NAV = '<a href="/terminal">Virtual terminal</a><a href="/console" aria-current="page">Operator console</a>';

/**
 * The console's sign-in form. It works as a plain form post; its script sends it as JSON
 * instead so that a refusal is shown in place rather than as a JSON page.
 */
export function loginPage(opts: { expired: boolean; noOperators: boolean }): string {
  const notice = opts.expired ? '<p class="status warn" id="login-notice">Your session ended (signed out, or idle too long). Sign in again.</p>' : '';
  const none = opts.noOperators ? '<p class="status bad">No operators are configured: add one under <code>ops.operators</code>.</p>' : '';
  return pageShell({
    title: 'Sign in · tenderbridge console',
    heading: 'Operator console',
    nav: NAV,
    script: '/console/assets/login.js',
    body: `
<section class="card narrow" aria-labelledby="login-heading">
  <h2 id="login-heading">Sign in</h2>
  ${notice}${none}
  <form id="login-form" method="post" action="/console/login">
    <label for="login-name">Operator name</label>
    <input id="login-name" name="name" autocomplete="username" required maxlength="64" autofocus>
    <label for="login-password">Password</label>
    <input id="login-password" name="password" type="password" autocomplete="current-password" required maxlength="512">
    <p id="login-result" role="alert"></p>
    <div class="actions"><button type="submit">Sign in</button></div>
  </form>
  <p class="hint">Sessions end after a period without activity and at most a few hours after sign-in, and when tenderbridge restarts.</p>
</section>`,
  });
}
