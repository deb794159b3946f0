import { timingSafeEqual, createHash } from 'node:crypto';
import express, { type Router } from 'express';
import { AuthenticationError, ForbiddenError } from '../shared/errors.js';
import type { Metrics } from './metrics.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** True when the TCP peer is on this machine. Uses the socket, never X-Forwarded-For. */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * `GET /metrics` in Prometheus text format, readable from loopback only (default) or with
 * the configured bearer token.
 */
export function metricsRoutes(metrics: Metrics, access: { mode: 'loopback' | 'token'; token: string | null }): Router {
  const router = express.Router();
  router.get('/metrics', async (req, res) => {
    if (access.mode === 'loopback') {
      if (!isLoopback(req.socket.remoteAddress)) throw new ForbiddenError('metrics are only served to loopback clients (ops.metricsAccess)');
    } else {
      const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
      if (!match || access.token === null || !sameSecret(match[1] as string, access.token)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="tenderbridge-metrics"');
        throw new AuthenticationError('metrics need Authorization: Bearer <ops.metricsToken>');
      }
    }
    const { contentType, body } = await metrics.render();
    res.type(contentType).send(body);
  });
  return router;
}
