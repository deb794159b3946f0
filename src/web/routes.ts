import { describeBuild } from '../ops/build-info.js';
import express, { type Router } from 'express';
import { currencyExponent } from '../shared/currency.js';
import { consoleApp } from './client/console-app.js';
import { terminalApp } from './client/terminal-app.js';
import { consoleApi } from './console-api.js';
import { terminalPageSettings } from './demo-settings.js';
import type { WebDeps } from './deps.js';
import { currentOperator, operatorAuth } from './operator-auth.js';
import { pageHeaders } from './page-headers.js';
import { consolePage } from './pages/console-page.js';
import { APP_CSS } from './pages/styles.js';
import { terminalPage } from './pages/terminal-page.js';

/** A browser script from a self-contained function (type-checked TS; its compiled source is sent). */
const script = (fn: () => void): string => `(${fn.toString()})();\n`;

/**
 * The web pages: the virtual terminal at /terminal and the operator console at /console
 * (with its JSON API under /console/api, all behind operator basic auth). Pages, styles and
 * scripts are served from memory with a CSP that allows only our own origin. Mounted at `/`
 * by the daemon, so every handler here is scoped to its own path.
 */
export function webRoutes(deps: WebDeps): Router {
  const router = express.Router();
  const terminalHtml = terminalPage(terminalPageSettings(deps.config));
  const terminalJs = script(terminalApp);
  const consoleJs = script(consoleApp);
  const auth = operatorAuth(deps.config.ops.operators);

  router.get('/', (_req, res) => res.redirect(302, '/terminal'));
  router.use(['/terminal', '/console'], pageHeaders);
  router.get('/terminal', (_req, res) => void res.type('html').send(terminalHtml));
  router.get('/terminal/assets/app.css', (_req, res) => void res.type('css').send(APP_CSS));
  router.get('/terminal/assets/terminal.js', (_req, res) => void res.type('js').send(terminalJs));

  router.use('/console', auth);
  router.get('/console', (_req, res) => {
    const registry = deps.registry;
    const currencyDigits = Object.fromEntries(registry.merchants().map((m) => [m.currency, currencyExponent(m.currency)]));
    const data = { operator: currentOperator(res), stores: registry.stores().map((s) => s.id), terminals: registry.terminals().map((t) => t.id), currencyDigits, version: deps.build ? describeBuild(deps.build) : 'unknown version' };
    res.type('html').send(consolePage(data));
  });
  router.get('/console/assets/console.js', (_req, res) => void res.type('js').send(consoleJs));
  router.use('/console/api', consoleApi(deps));
  return router;
}
