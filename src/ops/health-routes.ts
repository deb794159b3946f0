import express, { type Router } from 'express';
import type { Db } from '../shared/db/open.js';
import { LATEST_VERSION, schemaVersion } from '../shared/db/open.js';
import type { OutboxRepository } from '../outbox/repository.js';

export interface HealthDeps {
  db: Db;
  outbox: OutboxRepository;
  clock: () => number;
  /** True while the daemon is shutting down: not ready for new work. */
  isShuttingDown: () => boolean;
  /** Owed deliveries older than this (ms) count as stuck. */
  stuckAfterMs: number;
}

/** `GET /healthz` (process alive) and `GET /readyz` (able to take payments). Unauthenticated. */
export function healthRoutes(deps: HealthDeps): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      deps.db.prepare('CREATE TEMP TABLE IF NOT EXISTS readyz_probe (x INTEGER)').run();
      deps.db.prepare('INSERT INTO readyz_probe (x) VALUES (1)').run();
      deps.db.prepare('DELETE FROM readyz_probe').run();
      const version = schemaVersion(deps.db);
      checks['database'] = version === LATEST_VERSION ? { ok: true } : { ok: false, detail: `schema version ${version}, expected ${LATEST_VERSION}` };
    } catch (error) {
      checks['database'] = { ok: false, detail: (error as Error).message };
    }
    try {
      const stats = deps.outbox.stats();
      const age = stats.oldestPendingAt === null ? 0 : deps.clock() - stats.oldestPendingAt;
      checks['outbox'] =
        stats.dead > 0
          ? { ok: false, detail: `${stats.dead} dead letter(s) need an operator` }
          : age > deps.stuckAfterMs
            ? { ok: false, detail: `oldest owed delivery is ${Math.round(age / 1000)} s old` }
            : { ok: true, detail: `${stats.pending} pending` };
    } catch (error) {
      checks['outbox'] = { ok: false, detail: (error as Error).message };
    }
    if (deps.isShuttingDown()) checks['lifecycle'] = { ok: false, detail: 'shutting down' };
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks });
  });
  return router;
}
