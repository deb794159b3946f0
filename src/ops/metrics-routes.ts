import express, { type Router } from 'express';
import { bearerMatches } from '../shared/http/bearer-token.js';
import { clientIsLoopback } from '../shared/http/client-address.js';
import { AuthenticationError, ForbiddenError } from '../shared/errors.js';
import type { Metrics } from './metrics.js';

/**
 * `GET /metrics` in Prometheus text format, readable by loopback clients only (default; the
 * real client, see {@link clientIsLoopback}) or with the configured bearer token.
 */
export function metricsRoutes(metrics: Metrics, access: { mode: 'loopback' | 'token'; token: string | null }): Router {
  const router = express.Router();
  router.get('/metrics', async (req, res) => {
    if (access.mode === 'loopback') {
      if (!clientIsLoopback(req)) throw new ForbiddenError('metrics are only served to loopback clients (ops.metricsAccess)');
    } else {
      if (!bearerMatches(req.get('authorization'), access.token)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="tenderbridge-metrics"');
        throw new AuthenticationError('metrics need Authorization: Bearer <ops.metricsToken>');
      }
    }
    const { contentType, body } = await metrics.render();
    res.type(contentType).send(body);
  });
  return router;
}
