import type { Request, RequestHandler, Response } from 'express';
import { parseBasicAuth, secretsEqual } from '../electrum/basic-auth.js';
import { AuthenticationError, ForbiddenError } from '../shared/errors.js';
import type { ConsoleSession, SessionStore } from './sessions.js';

/** An operator allowed into the console (from `ops.operators`). */
export interface Operator {
  name: string;
  password: string;
}

/** The console's session cookie. */
export const SESSION_COOKIE = 'tb_console';
/** Header the console's scripts send on every POST: the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';
/** Header of requests the console makes by itself (live refreshes): they do not keep a session alive. */
export const BACKGROUND_HEADER = 'x-console-background';

const REALM = 'Basic realm="tenderbridge console", charset="UTF-8"';

/**
 * The operator whose name and password these are, or null. Every configured operator is
 * compared in constant time (a wrong name costs as much as a wrong password).
 * @example checkOperator(config.ops.operators, 'olive', 'secret') // 'olive' or null
 */
export function checkOperator(operators: readonly Operator[], name: string, password: string): string | null {
  let who: string | null = null;
  for (const op of operators) {
    const nameOk = secretsEqual(name, op.name);
    const passOk = secretsEqual(password, op.password);
    if (nameOk && passOk && who === null) who = op.name;
  }
  return who;
}

/** The value of cookie `name` in the request's Cookie header. */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Requests a browser sends say where they come from (`Sec-Fetch-Site`); scripts (curl, node's fetch, a monitoring job) do not. */
const fromBrowser = (req: Request) => req.get('sec-fetch-site') !== undefined;

export interface OperatorAuthOptions {
  operators: readonly Operator[];
  sessions: SessionStore;
  /** Accept HTTP basic auth too (the JSON API, for scripts); pages take only the session. */
  basic: boolean;
  /** Without a session: redirect a page visit to the sign-in form instead of answering 401. */
  redirectToLogin?: boolean;
  /** Requests that do not count as the operator's activity (besides those with {@link BACKGROUND_HEADER}). */
  background?: (req: Request) => boolean;
}

/**
 * Console authentication: the session cookie set by the sign-in form or, on the JSON API,
 * HTTP basic auth for scripts. Without either, a page visit goes to the sign-in form and an
 * API call is answered 401 (with a basic challenge only for non-browser clients, so that a
 * browser never pops up its own dialog when a session ends). With no operators configured,
 * everyone is refused. The operator's name is kept for journaling.
 * @example router.use('/console/api', operatorAuth({ operators, sessions, basic: true }))
 */
export function operatorAuth(options: OperatorAuthOptions): RequestHandler {
  return (req, res, next) => {
    const sessionId = readCookie(req, SESSION_COOKIE);
    const background = req.get(BACKGROUND_HEADER) !== undefined || options.background?.(req) === true;
    const session = sessionId === undefined ? null : background ? options.sessions.peek(sessionId) : options.sessions.use(sessionId);
    if (session && sessionId !== undefined) {
      res.locals['operator'] = session.operator;
      res.locals['session'] = session;
      res.locals['sessionId'] = sessionId;
      return next();
    }
    const given = options.basic ? parseBasicAuth(req.get('authorization')) : null;
    const who = given ? checkOperator(options.operators, given.username, given.password) : null;
    if (who !== null) {
      res.locals['operator'] = who;
      return next();
    }
    res.setHeader('Cache-Control', 'no-store');
    if (options.redirectToLogin && (req.method === 'GET' || req.method === 'HEAD')) {
      return res.redirect(303, sessionId === undefined ? '/console/login' : '/console/login?expired=1');
    }
    if (options.basic && !fromBrowser(req)) res.setHeader('WWW-Authenticate', REALM);
    const hint = options.operators.length === 0 ? ' (no operators are configured: add one under ops.operators)' : '';
    if (sessionId !== undefined && !given) throw new AuthenticationError(`your console session has ended (signed out or idle too long): sign in again at /console/login${hint}`);
    throw new AuthenticationError(given ? `unknown operator or wrong password${hint}` : `operator sign-in required: sign in at /console/login${options.basic ? ', or send HTTP basic auth' : ''}${hint}`);
  };
}

/** The operator authenticated for this request. */
export function currentOperator(res: Response): string {
  const who = res.locals['operator'] as string | undefined;
  if (!who) throw new ForbiddenError('route is not behind operator authentication');
  return who;
}

/** The session of this request, when it came with the session cookie (null for basic auth). */
export function currentSession(res: Response): { id: string; session: ConsoleSession } | null {
  const session = res.locals['session'] as ConsoleSession | undefined;
  const id = res.locals['sessionId'] as string | undefined;
  return session && id !== undefined ? { id, session } : null;
}

/**
 * State-changing console calls must come from our own pages. Every write: JSON only (a
 * cross-site form cannot send it without a preflight) and, when the browser says where the
 * request came from, from this origin. A write on a session also carries the session's CSRF
 * token in `X-CSRF-Token` (the cookie is SameSite=Strict as well). Basic-auth scripts send no
 * token: a browser only attaches basic credentials it was given for this origin, and the
 * origin check still applies.
 */
export const sameOriginWrites: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const origin = req.get('origin');
  if (origin !== undefined && origin !== `${req.protocol}://${req.get('host') ?? ''}`) throw new ForbiddenError(`cross-origin request from ${origin} refused`);
  if (req.get('sec-fetch-site') === 'cross-site') throw new ForbiddenError('cross-site request refused');
  const current = currentSession(res);
  if (current) {
    const sent = req.get(CSRF_HEADER);
    if (!sent || !secretsEqual(sent, current.session.csrfToken)) throw new ForbiddenError(`missing or wrong ${CSRF_HEADER} header: reload the console page and try again`);
  }
  next();
};
