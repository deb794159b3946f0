import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (the caller's `X-Request-Id` when it is safe to echo, else a new
 * UUID), returns it in the response header, and logs one line per finished request.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && SAFE_ID.test(given) ? given : randomUUID();
    res.locals['requestId'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    // Formatting a log line costs tens of microseconds even when the level is off: skip it then.
    if (!logger.isLevelEnabled('http')) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.http('request', { requestId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 100) / 100 });
    });
    next();
  };
}
