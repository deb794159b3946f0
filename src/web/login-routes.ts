import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { basicAuthHeader } from '../electrum/basic-auth.js';
import type { Config } from '../shared/config/load.js';
import { AuthenticationError, UnsupportedMediaTypeError } from '../shared/errors.js';
import { credentialKey } from '../shared/http/auth-failure-limits.js';
import { parseOr400 } from '../shared/http/validate.js';
import type { Logger } from '../shared/logger.js';
import { checkOperator, currentOperator, currentSession, operatorAuth, sameOriginWrites, SESSION_COOKIE } from './operator-auth.js';
import { loginPage } from './pages/login-page.js';
import type { SessionStore } from './sessions.js';

const loginBody = z
  .object({
    name: z.string().min(1, 'give your operator name').max(64),
    password: z.string().min(1, 'give your password').max(512),
  })
  .strict();

/** `Set-Cookie` for the session: HttpOnly, SameSite=Strict, whole site, Secure over TLS (or as configured). */
function sessionCookie(req: Request, value: string, maxAgeSeconds: number, secure: Config['ops']['console']['secureCookie']): string {
  const isSecure = secure === 'always' || (secure === 'auto' && req.secure);
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${isSecure ? '; Secure' : ''}`;
}

/**
 * The console's sign-in form and sign-out: `GET /console/login`, `POST /console/login` (JSON
 * from the form's script, or a plain form post) and `POST /console/logout` (the session's
 * CSRF token required). A failed sign-in is a 401 like a wrong basic-auth password, so the
 * same failed-auth limiter counts it, keyed on the name and password given.
 */
export function loginRoutes(deps: { config: Config; sessions: SessionStore; logger: Logger }): Router {
  const router = express.Router();
  const settings = deps.config.ops.console;
  const operators = deps.config.ops.operators;
  const html = (expired: boolean) => loginPage({ expired, noOperators: operators.length === 0 });

  router.get('/console/login', (req, res) => void res.type('html').send(html(req.query['expired'] === '1')));
  router.post(
    '/console/login',
    (req, _res, next) => {
      if (!req.is('application/json') && !req.is('application/x-www-form-urlencoded')) throw new UnsupportedMediaTypeError('send the sign-in form (application/x-www-form-urlencoded) or JSON {"name", "password"}');
      next();
    },
    express.json({ limit: '4kb', strict: true }),
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    sameOriginWrites,
    (req, res) => {
      const body = parseOr400(loginBody, req.body ?? {}, 'body');
      // The limiter keys a failure on the credential presented: the same key as this pair sent by basic auth.
      res.locals['credentialKey'] = credentialKey(basicAuthHeader(body.name, body.password));
      const who = checkOperator(operators, body.name, body.password);
      if (who === null) throw new AuthenticationError(`unknown operator or wrong password${operators.length === 0 ? ' (no operators are configured: add one under ops.operators)' : ''}`);
      const { id, session } = deps.sessions.create(who);
      res.setHeader('Set-Cookie', sessionCookie(req, id, settings.maxSessionSeconds, settings.secureCookie));
      res.setHeader('Cache-Control', 'no-store');
      deps.logger.info('operator signed in', { operator: who });
      if (req.is('application/json')) return void res.json({ operator: who, csrfToken: session.csrfToken, idleTimeoutSeconds: settings.idleTimeoutSeconds });
      res.redirect(303, '/console');
    },
  );
  router.post('/console/logout', operatorAuth({ operators, sessions: deps.sessions, basic: false }), sameOriginWrites, (req: Request, res: Response) => {
    const current = currentSession(res);
    deps.sessions.destroy(current?.id);
    res.setHeader('Set-Cookie', sessionCookie(req, '', 0, settings.secureCookie));
    res.setHeader('Cache-Control', 'no-store');
    deps.logger.info('operator signed out', { operator: currentOperator(res) });
    res.json({ signedOut: true });
  });
  return router;
}
