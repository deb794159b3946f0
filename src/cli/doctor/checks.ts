import { existsSync } from 'node:fs';
import { createOutboxRepository } from '../../outbox/repository.js';
import { createPaymentRepository } from '../../payments/repository.js';
import type { Config } from '../../shared/config/load.js';
import { integrityProblems, LATEST_VERSION, openDatabase, schemaVersion, type Db } from '../../shared/db/open.js';
import type { PgPool } from '../../shared/db/postgres/pool.js';
import type { Logger } from '../../shared/logger.js';
import { resolvedProblem, type EgressPolicy } from '../../shared/net/egress-policy.js';
import { ipLiteral } from '../../shared/net/ip-address.js';
import { cliTokenManager } from '../wiring.js';
import { postgresDoctorLines } from './postgres-checks.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the doctor's report. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
}

/** What checks may use; the database is opened once, on first use, and closed by the caller. */
export interface DoctorEnv {
  config: Config;
  dbPath: string;
  /** The database, or an Error saying why it could not be opened. */
  db(): Db | Error;
  /** A pool on PostgreSQL when database.kind is postgres (dbPath is then its URL without the password), else null. */
  pool(): PgPool | null;
  clock: () => number;
  fetch: typeof fetch;
  /** Addresses a host name resolves to (the system resolver in the CLI). */
  lookupHost: (hostname: string) => Promise<string[]>;
  logger: Logger;
}

/** A named check; it may report several lines (one per merchant, one per database aspect). */
export interface DoctorCheck {
  name: string;
  run(env: DoctorEnv): Promise<CheckResult[]> | CheckResult[];
}

const line = (name: string, status: CheckStatus, detail: string): CheckResult => ({ name, status, detail });
const isLoopback = (url: string): boolean => ['localhost', '127.0.0.1', '[::1]', '::1'].includes(new URL(url).hostname) || new URL(url).hostname.startsWith('127.');

/** An error's message with the innermost cause's (e.g. `fetch failed: connect ECONNREFUSED 127.0.0.1:8490`). */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  let root: unknown = error;
  for (let i = 0; i < 5 && root instanceof Error && root.cause !== undefined; i++) root = root.cause;
  const rootMessage = root instanceof Error ? root.message : null;
  return rootMessage && rootMessage !== message && !message.includes(rootMessage) ? `${message}: ${rootMessage}` : message;
}

/** Opens the configured database without creating it. */
export function openForDoctor(path: string): Db | Error {
  if (path !== ':memory:' && !existsSync(path)) return new Error(`${path} does not exist (the daemon creates it at start; or run \`tenderbridge db migrate\`)`);
  try {
    return openDatabase(path);
  } catch (error) {
    return error as Error;
  }
}

export const databaseCheck: DoctorCheck = {
  name: 'database',
  run(env) {
    const pool = env.pool();
    if (pool !== null) return postgresDoctorLines(pool, env.dbPath);
    const db = env.db();
    if (db instanceof Error) return [line('database opens', 'fail', db.message)];
    const results = [line('database opens', 'ok', env.dbPath)];
    const problems = integrityProblems(db);
    results.push(problems.length === 0 ? line('database integrity', 'ok', 'quick_check ok') : line('database integrity', 'fail', `${problems.slice(0, 3).join('; ')}: restore the latest backup`));
    const version = schemaVersion(db);
    results.push(
      version === LATEST_VERSION
        ? line('database schema', 'ok', `version ${version}`)
        : version < LATEST_VERSION
          ? line('database schema', 'warn', `version ${version}, this build has ${LATEST_VERSION}: the daemon migrates at start, or run \`tenderbridge db migrate\``)
          : line('database schema', 'fail', `version ${version} is newer than this build (${LATEST_VERSION})`),
    );
    try {
      // Takes the write lock and releases it without writing: proves writability, changes nothing.
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
      results.push(line('database writable', 'ok', 'write lock obtained'));
    } catch (error) {
      results.push(line('database writable', 'fail', (error as Error).message));
    }
    return results;
  },
};

/** Compares our clock with the `Date` header of PartPay's token endpoint: OAuth and signatures need sane clocks. */
export const clockCheck: DoctorCheck = {
  name: 'clock',
  async run(env) {
    const url = env.config.partpay.tokenUrl;
    const before = env.clock();
    let response: Response;
    try {
      response = await env.fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(env.config.partpay.tokenTimeoutMs) });
      await response.body?.cancel();
    } catch (error) {
      return [line('clock', 'warn', `could not reach ${url} to compare clocks: ${describeError(error)}`)];
    }
    const after = env.clock();
    const header = response.headers.get('date');
    const server = header ? Date.parse(header) : Number.NaN;
    if (Number.isNaN(server)) return [line('clock', 'warn', `${url} sent no usable Date header`)];
    // The header has whole seconds: compare with the middle of that second and of our request.
    const skewMs = Math.round((before + after) / 2 - (server + 500));
    const detail = `system time is ${Math.abs(skewMs / 1000).toFixed(1)} s ${skewMs >= 0 ? 'ahead of' : 'behind'} PartPay (${new URL(url).host})`;
    return [line('clock', Math.abs(skewMs) > 5_000 ? 'warn' : 'ok', Math.abs(skewMs) > 5_000 ? `${detail}: fix NTP (timedatectl)` : detail)];
  },
};

/** Obtains a token for every merchant, proving URL, audience and credentials. */
export const tokenCheck: DoctorCheck = {
  name: 'partpay token',
  async run(env) {
    const tokens = cliTokenManager(env.config, env.logger, env.clock);
    return Promise.all(
      env.config.merchants.map(async (m) => {
        const name = `partpay token (${m.id})`;
        try {
          await tokens.getToken(m);
          const expiresAt = tokens.status().find((s) => s.clientId === m.clientId)?.expiresAt ?? null;
          return line(name, 'ok', `token obtained for client ${m.clientId}${expiresAt === null ? '' : `, valid ${Math.round((expiresAt - env.clock()) / 1000)} s`}`);
        } catch (error) {
          return line(name, 'fail', describeError(error));
        }
      }),
    );
  },
};

/** Where PartPay will send callbacks, and whether it can. */
export const callbackUrlCheck: DoctorCheck = {
  name: 'callback url',
  run({ config }) {
    const url = config.partpay.callbackUrl ?? null;
    const simulated = config.simulators.partpay.enabled || isLoopback(config.partpay.apiBaseUrl);
    if (url === null) {
      return [line('callback url', config.partpay.protocol.fields.callbackUrl === null ? 'ok' : 'warn', 'partpay.callbackUrl is not set: PartPay must have it from onboarding; lost callbacks are recovered by polling only')];
    }
    if (simulated) return [line('callback url', 'ok', `${url} (simulator)`)];
    if (isLoopback(url)) return [line('callback url', 'warn', `${url} is a loopback address: PartPay cannot reach it; set the public https URL that forwards to POST /partpay/callback`)];
    if (new URL(url).protocol !== 'https:') return [line('callback url', 'warn', `${url} is not https: callbacks carry payment outcomes; publish it over TLS`)];
    return [line('callback url', 'ok', url)];
  },
};

/** Owed deliveries that gave up, and payments waiting for an operator. */
export const operatorQueueCheck: DoctorCheck = {
  name: 'outbox',
  run(env) {
    if (env.pool() !== null) return [line('outbox', 'warn', 'not checked on PostgreSQL in this build yet')];
    const db = env.db();
    if (db instanceof Error) return [line('outbox', 'warn', 'skipped: the database did not open')];
    const stats = createOutboxRepository(db).stats();
    const attention = createPaymentRepository(db).list({ attention: true, limit: 1000 }).length;
    return [
      stats.dead > 0
        ? line('outbox dead letters', 'fail', `${stats.dead} owed cancel/refund(s) gave up: see \`tenderbridge payments show <id>\` and resolve them (${stats.pending} pending)`)
        : line('outbox dead letters', 'ok', `none (${stats.pending} pending)`),
      attention > 0
        ? line('payments needing attention', 'warn', `${attention}${attention === 1000 ? '+' : ''}: \`tenderbridge payments list --attention\``)
        : line('payments needing attention', 'ok', 'none'),
    ];
  },
};

/**
 * Why the addresses a URL's host name resolves to now are refused by `policy` (a partner's by
 * `electrum.partnerNetwork`, a webhook's by `webhooks.network`), or null. Config load checks only
 * literal addresses and localhost; the daemon refuses the others when connecting. A name that
 * does not resolve is left to the caller.
 */
async function addressProblemOf(env: DoctorEnv, url: string, policy: EgressPolicy): Promise<string | null> {
  const { hostname } = new URL(url);
  if (ipLiteral(hostname) !== null) return null;
  let addresses: string[];
  try {
    addresses = await env.lookupHost(hostname);
  } catch {
    return null;
  }
  return addresses.map((a) => resolvedProblem(hostname, a, policy)).find((problem) => problem !== null) ?? null;
}

/**
 * Each Electrum partner's interface answers over HTTP with our credentials, at an address
 * `electrum.partnerNetwork` allows. A GET of the payments path has no side effect: any HTTP
 * answer but 401/403 means reachable and accepted.
 */
export const partnerCheck: DoctorCheck = {
  name: 'electrum partner',
  async run(env) {
    return Promise.all(
      env.config.electrum.partners.map(async (p) => {
        const name = `electrum partner (${p.id})`;
        const refused = await addressProblemOf(env, p.baseUrl, { key: 'electrum.partnerNetwork', ...env.config.electrum.partnerNetwork });
        if (refused !== null) return line(name, 'fail', `${p.baseUrl}: ${refused}`);
        try {
          const res = await env.fetch(`${p.baseUrl.replace(/\/+$/, '')}/payments`, {
            method: 'GET',
            headers: { authorization: `Basic ${Buffer.from(`${p.username}:${p.outboundPassword}`).toString('base64')}` },
            redirect: 'manual',
            signal: AbortSignal.timeout(5_000),
          });
          await res.body?.cancel();
          if (res.status === 401 || res.status === 403) return line(name, 'fail', `${p.baseUrl} refused our credentials (HTTP ${res.status}): check electrum.partners[].username/outboundPassword`);
          return line(name, 'ok', `${p.baseUrl} answered HTTP ${res.status}`);
        } catch (error) {
          return line(name, 'fail', `${p.baseUrl} unreachable: ${describeError(error)}`);
        }
      }),
    );
  },
};

/**
 * Each webhook endpoint's host resolves to addresses `webhooks.network` allows (else every
 * delivery would become a dead letter). Nothing is POSTed: a receiver would take it for an event.
 */
export const webhookCheck: DoctorCheck = {
  name: 'webhook',
  async run(env) {
    const policy = { key: 'webhooks.network', ...env.config.webhooks.network };
    return Promise.all(
      env.config.webhooks.endpoints.map(async (e) => {
        const name = `webhook (${e.id})`;
        const { hostname } = new URL(e.url);
        // Literal addresses were checked when the config was loaded.
        if (ipLiteral(hostname) !== null) return line(name, 'ok', `${e.url}: address allowed by webhooks.network`);
        let addresses: string[];
        try {
          addresses = await env.lookupHost(hostname);
        } catch (error) {
          return line(name, 'warn', `${e.url}: ${hostname} does not resolve now (${describeError(error)}); deliveries are retried until it does`);
        }
        const refused = addresses.map((a) => resolvedProblem(hostname, a, policy)).find((problem) => problem !== null);
        return refused === undefined ? line(name, 'ok', `${e.url}: resolves to ${addresses.join(', ')}, allowed by webhooks.network`) : line(name, 'fail', `${e.url}: ${refused}`);
      }),
    );
  },
};

/** The checks `tenderbridge doctor` runs, in order. */
export const DEFAULT_CHECKS: readonly DoctorCheck[] = [databaseCheck, clockCheck, tokenCheck, callbackUrlCheck, partnerCheck, webhookCheck, operatorQueueCheck];

/** Runs checks in order; a check that throws is reported as a failure of that check, not of the doctor. */
export async function runChecks(checks: readonly DoctorCheck[], env: DoctorEnv): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    try {
      results.push(...(await check.run(env)));
    } catch (error) {
      results.push(line(check.name, 'fail', `check crashed: ${(error as Error).message}`));
    }
  }
  return results;
}
