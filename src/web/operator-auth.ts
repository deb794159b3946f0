import type { RequestHandler, Response } from 'express';
import { parseBasicAuth, secretsEqual } from '../electrum/basic-auth.js';
import { AuthenticationError, ForbiddenError } from '../shared/errors.js';

/** An operator allowed into the console (from `ops.operators`). */
export interface Operator {
  name: string;
  password: string;
}

const REALM = 'Basic realm="tenderbridge console", charset="UTF-8"';

/**
 * HTTP basic auth for the console and its API. Every configured operator is compared in
 * constant time (a wrong name costs as much as a wrong password); with no operators
 * configured, everyone is refused. The operator's name is kept for journaling.
 * @example router.use('/console', operatorAuth(config.ops.operators))
 */
export function operatorAuth(operators: readonly Operator[]): RequestHandler {
  return (req, res, next) => {
    const given = parseBasicAuth(req.get('authorization'));
    let who: string | null = null;
    if (given) {
      for (const op of operators) {
        const nameOk = secretsEqual(given.username, op.name);
        const passOk = secretsEqual(given.password, op.password);
        if (nameOk && passOk && who === null) who = op.name;
      }
    }
    if (who === null) {
      res.setHeader('WWW-Authenticate', REALM);
      res.setHeader('Cache-Control', 'no-store');
      const hint = operators.length === 0 ? ' (no operators are configured: add one under ops.operators)' : '';
      throw new AuthenticationError(given ? `unknown operator or wrong password${hint}` : `operator sign-in required (HTTP basic auth)${hint}`);
    }
    res.locals['operator'] = who;
    next();
  };
}

/** The operator authenticated for this request. */
export function currentOperator(res: Response): string {
  const who = res.locals['operator'] as string | undefined;
  if (!who) throw new ForbiddenError('route is not behind operator authentication');
  return who;
}

/**
 * Browsers resend basic-auth credentials on cross-site requests, so state-changing console
 * calls must come from our own pages: JSON only (a cross-site form cannot send it without a
 * preflight) and, when the browser says where the request came from, from this origin.
 */
export const sameOriginWrites: RequestHandler = (req, _res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const origin = req.get('origin');
  if (origin !== undefined && origin !== `${req.protocol}://${req.get('host') ?? ''}`) throw new ForbiddenError(`cross-origin request from ${origin} refused`);
  next();
};
