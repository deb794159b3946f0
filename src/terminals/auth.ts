import type { Request, RequestHandler, Response } from 'express';
import type { RegistryView, Terminal } from '../registry/registry.js';
import { AuthenticationError, ForbiddenError, UnsupportedMediaTypeError } from '../shared/errors.js';

/**
 * Authenticates a terminal by its bearer API key. Every /v1 route sits behind it.
 * @example router.use(terminalAuth(registry))
 */
export function terminalAuth(registry: RegistryView): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
    if (!match) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="tenderbridge"');
      throw new AuthenticationError(header ? 'Authorization header must be "Bearer <terminal API key>"' : 'missing Authorization: Bearer <terminal API key>');
    }
    const terminal = registry.authenticate(match[1] as string);
    if (!terminal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="tenderbridge", error="invalid_token"');
      throw new AuthenticationError('unknown or disabled terminal API key');
    }
    res.locals['terminal'] = terminal;
    next();
  };
}

/** The terminal authenticated for this request. */
export function currentTerminal(res: Response): Terminal {
  const terminal = res.locals['terminal'] as Terminal | undefined;
  if (!terminal) throw new ForbiddenError('route is not behind terminal authentication');
  return terminal;
}

/** Refuses a body that is not JSON (a POS developer sending a form gets told so). */
export const requireJson: RequestHandler = (req: Request, _res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    throw new UnsupportedMediaTypeError(`Content-Type must be application/json, not "${req.get('content-type') ?? 'none'}"`);
  }
  next();
};
