import express, { type Router } from 'express';
import { bearerMatches } from '../shared/http/bearer-token.js';
import { clientIsLoopback } from '../shared/http/client-address.js';
import type { BuildInfo } from './build-info.js';
import type { Readiness } from './readiness.js';

/** `GET /healthz`: the process is alive and serving HTTP, and which tenderbridge it is. Unauthenticated; nothing secret in it. */
export function livenessRoutes(build?: BuildInfo): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...(build ? { version: build.version, commit: build.commit } : {}) });
  });
  return router;
}

/**
 * `GET /readyz`: 200 when this daemon can serve, 503 when not, answered to anyone from cached
 * state (see {@link Readiness}). The checks and alerts behind the answer (which may quote
 * PartPay) are shown only to loopback clients (the real client, see `server.trustProxy`) and to
 * `Authorization: Bearer <ops.readinessToken>`.
 */
export function readinessRoutes(readiness: Pick<Readiness, 'report'>, access: { token: string | null }): Router {
  const router = express.Router();
  router.get('/readyz', (req, res) => {
    const report = readiness.report();
    const status = report.ready ? 'ready' : 'not_ready';
    const detailed = clientIsLoopback(req) || bearerMatches(req.get('authorization'), access.token);
    res.status(report.ready ? 200 : 503).set('Cache-Control', 'no-store');
    res.json(detailed ? { status, checks: report.checks, alerts: report.alerts } : { status });
  });
  return router;
}
