import { describeBuild } from '../ops/build-info.js';
import express, { type Router } from 'express';
import { currencyExponent } from '../shared/currency.js';
import { consoleApp } from './client/console-app.js';
import { loginApp } from './client/login-app.js';
import { terminalScript } from './browser-bundle.js';
import { consoleApi } from './console-api.js';
import { docsRoutes } from './docs-routes.js';
import { terminalPageSettings } from './demo-settings.js';
import type { WebDeps } from './deps.js';
import { loginRoutes } from './login-routes.js';
import { currentOperator, currentSession, operatorAuth } from './operator-auth.js';
import { pageHeaders } from './page-headers.js';
import { consolePage } from './pages/console-page.js';
import { FAVICON_SVG } from './pages/favicon.js';
import { APP_CSS } from './pages/styles.js';
import { terminalPage } from './pages/terminal-page.js';
import { createSessionStore } from './sessions.js';
import { ServiceUnavailableError } from '../shared/errors.js';

/** A browser script from a self-contained function (type-checked TS; its compiled source is sent). */
const script = (fn: () => void): string => `(${fn.toString()})();\n`;

/**
 * The web pages: the virtual terminal at /terminal and the operator console at /console
 * (signed in with a session cookie from /console/login; its JSON API under /console/api also
 * takes operator basic auth, for scripts). Pages, styles and scripts are served from memory
 * with a CSP that allows only our own origin. Mounted at `/` by the daemon, so every handler
 * here is scoped to its own path.
 */
export function webRoutes(deps: WebDeps): Router {
  const router = express.Router();
  const terminalHtml = terminalPage(terminalPageSettings(deps.config));
  const terminalJs = terminalScript();
  const consoleJs = script(consoleApp);
  const loginJs = script(loginApp);
  const operators = deps.config.ops.operators;
  const limits = deps.config.ops.console;
  const sessions = createSessionStore({ idleTimeoutMs: limits.idleTimeoutSeconds * 1000, maxSessionMs: limits.maxSessionSeconds * 1000 }, deps.clock);
  // The page and its script take only the session; the API also takes basic auth. The event stream never counts as activity.
  const pageAuth = operatorAuth({ operators, sessions, basic: false, redirectToLogin: true });
  const scriptAuth = operatorAuth({ operators, sessions, basic: false });
  const apiAuth = operatorAuth({ operators, sessions, basic: true, background: (req) => req.path === '/events' });

  router.get('/', (_req, res) => res.redirect(302, '/terminal'));
  router.get(['/favicon.ico', '/favicon.svg'], (_req, res) => void res.type('image/svg+xml').set('Cache-Control', 'public, max-age=86400').send(FAVICON_SVG));
  router.use(['/terminal', '/console'], pageHeaders);
  router.get('/terminal', (_req, res) => void res.type('html').send(terminalHtml));
  router.get('/terminal/assets/app.css', (_req, res) => void res.type('css').send(APP_CSS));
  router.get('/terminal/assets/terminal.js', (_req, res) => {
    if (terminalJs === null) throw new ServiceUnavailableError('the virtual terminal script was not built: run npm run build');
    res.type('js').send(terminalJs);
  });

  router.get('/console/assets/login.js', (_req, res) => void res.type('js').send(loginJs));
  router.use(loginRoutes({ config: deps.config, sessions, logger: deps.logger }));
  router.use('/console/api', apiAuth, consoleApi({ ...deps, sessions }));
  router.get('/console', pageAuth, (_req, res) => {
    const registry = deps.registry;
    const currencyDigits = Object.fromEntries(registry.merchants().map((m) => [m.currency, currencyExponent(m.currency)]));
    const data = {
      operator: currentOperator(res),
      csrfToken: currentSession(res)?.session.csrfToken ?? '',
      stores: registry.stores().map((s) => s.id),
      terminals: registry.terminals().map((t) => t.id),
      currencyDigits,
      version: deps.build ? describeBuild(deps.build) : 'unknown version',
    };
    res.type('html').send(consolePage(data));
  });
  router.get('/console/assets/console.js', scriptAuth, (_req, res) => void res.type('js').send(consoleJs));
  // The /v1 reference is a page (the session; a browser without one goes to the sign-in form) that scripts may fetch with basic auth.
  router.use('/docs', docsRoutes(operatorAuth({ operators, sessions, basic: true, redirectToLogin: true }), deps.build?.version ?? '0.0.0'));
  return router;
}
