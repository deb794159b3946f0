import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../logger.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const STARTED = Symbol('requestStarted');
type TimedResponse = Response & { [STARTED]: bigint };

/**
 * Gives each request an id (the caller's `X-Request-Id` when it is safe to echo, else a new
 * UUID), returns it in the response header, and logs one line per finished request.
 */
export function requestContext(logger: Logger): RequestHandler {
  // One listener for every response (its `this`): a request allocates no closure for it.
  function logFinished(this: TimedResponse): void {
    const req = this.req;
    const ms = Number(process.hrtime.bigint() - this[STARTED]) / 1e6;
    logger.http('request', { requestId: this.locals['requestId'], method: req.method, path: req.path, status: this.statusCode, ms: Math.round(ms * 100) / 100 });
  }
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
    res.locals['requestId'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    // Formatting a log line costs tens of microseconds even when the level is off: skip it then.
    if (!logger.isLevelEnabled('http')) {
      next();
      return;
    }
    (res as TimedResponse)[STARTED] = process.hrtime.bigint();
    res.on('finish', logFinished);
    next();
  };
}
