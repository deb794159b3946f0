import { immediateCommit } from '../shared/db/group-commit.js';
import express, { type Router } from 'express';
import type { Db } from '../shared/db/open.js';
import { LATEST_VERSION, schemaVersion } from '../shared/db/open.js';
import type { OutboxRepository } from '../outbox/repository.js';
import type { BuildInfo } from './build-info.js';

type Check = { ok: boolean; detail?: string };

export interface HealthDeps {
  db: Db;
  /** Which tenderbridge this is, told on /healthz. */
  build?: BuildInfo;
  outbox: OutboxRepository;
  clock: () => number;
  /** True while the daemon is shutting down: not ready for new work. */
  isShuttingDown: () => boolean;
  /** Owed deliveries older than this (ms) count as stuck. */
  stuckAfterMs: number;
  /**
   * One check per upstream credential (each merchant's PartPay token): resolves ok when a
   * token is held or can be obtained now. Keyed by a name shown in the answer.
   */
  upstream?: () => Record<string, Promise<Check>>;
  /** Longest time readyz waits for an upstream check. */
  upstreamTimeoutMs?: number;
}

function databaseCheck(db: Db): Check {
  try {
    // A real write in a transaction that is rolled back: proves the file (and disk) take writes.
    immediateCommit(db).transaction(() => {
      // Big enough to need fresh pages, as a payment with its journal would: a full disk shows here.
      db.prepare("INSERT INTO payment_events (payment_id, at, kind, actor, raw_body) VALUES (NULL, 0, 'readyz_probe', 'readyz', hex(randomblob(8192)))").run();
      throw new RollbackProbe();
    });
    return { ok: false, detail: 'probe did not roll back' };
  } catch (error) {
    if (!(error instanceof RollbackProbe)) return { ok: false, detail: (error as Error).message };
  }
  const version = schemaVersion(db);
  return version === LATEST_VERSION ? { ok: true } : { ok: false, detail: `schema version ${version}, expected ${LATEST_VERSION}` };
}

class RollbackProbe extends Error {}

async function withTimeout(check: Promise<Check>, ms: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Check>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([check.catch((error: unknown) => ({ ok: false, detail: (error as Error).message })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /healthz` (process alive) and `GET /readyz` (able to take payments). Unauthenticated. */
export function healthRoutes(deps: HealthDeps): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...(deps.build ? { version: deps.build.version, commit: deps.build.commit } : {}) });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, Check> = { database: databaseCheck(deps.db) };
    try {
      const stats = deps.outbox.stats();
      const age = stats.oldestPendingAt === null ? 0 : deps.clock() - stats.oldestPendingAt;
      checks['outbox'] =
        stats.dead > 0
          ? { ok: false, detail: `${stats.dead} dead letter(s) need an operator (tenderbridge payments list --attention)` }
          : age > deps.stuckAfterMs
            ? { ok: false, detail: `oldest owed delivery is ${Math.round(age / 1000)} s old` }
            : { ok: true, detail: `${stats.pending} pending` };
    } catch (error) {
      checks['outbox'] = { ok: false, detail: (error as Error).message };
    }
    const upstream = deps.upstream?.() ?? {};
    await Promise.all(
      Object.entries(upstream).map(async ([name, check]) => {
        checks[name] = await withTimeout(check, deps.upstreamTimeoutMs ?? 3000);
      }),
    );
    if (deps.isShuttingDown()) checks['lifecycle'] = { ok: false, detail: 'shutting down' };
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks });
  });
  return router;
}
