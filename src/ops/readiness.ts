import type { OutboxRepository } from '../outbox/repository.js';
import type { TokenStatus } from '../partpay/token-manager.js';
import { immediateCommit } from '../shared/db/group-commit.js';
import { LATEST_VERSION, schemaVersion, type Db } from '../shared/db/open.js';

/** One readiness check: it fails readiness when not ok. */
export interface Check {
  ok: boolean;
  detail?: string;
}

/** What `/readyz` answers, all from cached state. */
export interface ReadinessReport {
  /** Every check is ok: this daemon can serve. */
  ready: boolean;
  /** What readiness depends on: the database takes writes (last probe), the daemon is not stopping. */
  checks: Record<string, Check>;
  /** What an operator should know but never takes the daemon out of rotation: dead letters, an old owed delivery, PartPay refusing a token. */
  alerts: Record<string, string>;
}

export interface ReadinessDeps {
  /** Proves the database takes a write (rolled back) and has this build's schema: {@link sqliteProbe}, or PostgreSQL's `probePostgresDatabase`. */
  probeDatabase: () => Promise<Check>;
  outbox: { stats(): Promise<ReturnType<OutboxRepository['stats']>> };
  /** The token manager's cached state (never a token request). */
  tokens: () => readonly TokenStatus[];
  merchants: ReadonlyArray<{ id: string; clientId: string }>;
  clock: () => number;
  isShuttingDown: () => boolean;
  /** Owed deliveries older than this (ms) are reported as an alert. */
  stuckAfterMs: number;
  /** Asked on every report (cheap, no I/O): whether writes reach the disk; see `Backend.disk`. */
  disk?: () => Check;
  /** Asked on every report (cheap, no I/O): the integrity check run while serving; see `Backend.integrity`. */
  integrity?: () => Check;
}

interface Probe {
  at: number;
  database: Check;
  outbox: ReturnType<OutboxRepository['stats']> | { error: string };
}

class RollbackProbe extends Error {}

/** A real write, rolled back: proves the file (and the disk) take writes, and the schema is this build's. */
/**
 * The SQLite database's probe: a rolled-back write big enough to need fresh pages (a full disk
 * shows here), and the schema version.
 * @example createReadiness({ probeDatabase: async () => sqliteProbe(db), ... })
 */
export function sqliteProbe(db: Db): Check {
  try {
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

/**
 * Readiness as "this daemon can serve", from cached state only. `probe()` (the readiness-probe
 * job, and once at start) writes to the database and reads the outbox; `report()` (every
 * `/readyz`) only reads what the last probe and the token manager left, so a load balancer
 * polling it costs no write and no upstream call. Dead letters, owed deliveries and PartPay's
 * refusals are alerts: every daemon of a fleet shares them, and taking them all out of rotation
 * for an operator's backlog (or for PartPay, while Electrum payments still work) helps nobody.
 * @example const readiness = createReadiness(deps); readiness.probe(); readiness.report().ready
 */
export function createReadiness(deps: ReadinessDeps) {
  let last: Probe | null = null;

  async function probe(): Promise<void> {
    let outbox: Probe['outbox'];
    try {
      outbox = await deps.outbox.stats();
    } catch (error) {
      outbox = { error: (error as Error).message };
    }
    let database: Check;
    try {
      database = await deps.probeDatabase();
    } catch (error) {
      database = { ok: false, detail: (error as Error).message };
    }
    last = { at: deps.clock(), database, outbox };
  }

  function alerts(now: number): Record<string, string> {
    const out: Record<string, string> = {};
    const outbox = last?.outbox;
    if (outbox && 'error' in outbox) out['outbox'] = `could not read the outbox: ${outbox.error}`;
    else if (outbox) {
      const age = outbox.oldestPendingAt === null ? 0 : now - outbox.oldestPendingAt;
      const problems = [
        ...(outbox.dead > 0 ? [`${outbox.dead} dead letter(s) need an operator (console, or tenderbridge payments list --attention)`] : []),
        ...(age > deps.stuckAfterMs ? [`the oldest of ${outbox.pending} owed deliveries is ${Math.round(age / 1000)} s old`] : []),
      ];
      if (problems.length > 0) out['outbox'] = problems.join('; ');
    }
    for (const merchant of deps.merchants) {
      const token = deps.tokens().find((t) => t.clientId === merchant.clientId);
      if (token?.lastError) {
        const held = token.expiresAt !== null && token.expiresAt > now;
        out[`partpay_token:${merchant.id}`] = `the last token request failed${held ? ' (the current token is still valid)' : ''}: ${token.lastError}`;
      }
    }
    return out;
  }

  function report(): ReadinessReport {
    const now = deps.clock();
    const checks: Record<string, Check> = {
      database: last === null ? { ok: false, detail: 'not probed yet' } : { ...last.database, detail: [last.database.detail, `probed ${Math.round((now - last.at) / 1000)} s ago`].filter(Boolean).join('; ') },
      lifecycle: deps.isShuttingDown() ? { ok: false, detail: 'shutting down' } : { ok: true },
      ...(deps.disk ? { disk: deps.disk() } : {}),
      ...(deps.integrity ? { integrity: deps.integrity() } : {}),
    };
    return { ready: Object.values(checks).every((c) => c.ok), checks, alerts: alerts(now) };
  }

  return { probe, report };
}

export type Readiness = ReturnType<typeof createReadiness>;
