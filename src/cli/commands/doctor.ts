import type { Command } from 'commander';
import { lookup } from 'node:dns/promises';
import { ConfigError } from '../../shared/config/load.js';
import { redactDatabaseUrl } from '../../shared/config/database-schema.js';
import type { Db } from '../../shared/db/open.js';
import { createPostgresPool, type PgPool } from '../../shared/db/postgres/pool.js';
import { action } from '../context.js';
import { DEFAULT_CHECKS, openForDoctor, runChecks, type CheckResult, type DoctorCheck } from '../doctor/checks.js';
import { EXIT, type CliIo } from '../io.js';
import { renderJson } from '../output.js';
import { cliLogger } from '../wiring.js';

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

/** `tenderbridge doctor`: one line per check; exit 1 if any fails. */
export function registerDoctorCommand(program: Command, io: CliIo, checks: readonly DoctorCheck[] = DEFAULT_CHECKS): void {
  program
    .command('doctor')
    .description('check config, database, clock, PartPay credentials, callback URL and owed deliveries')
    .addHelpText('after', '\nPrints one line per check (ok, WARN, FAIL) and exits 1 if any check fails.\nIt calls PartPay\'s token endpoint once per merchant; nothing else is changed.\n\nExamples:\n  $ tenderbridge doctor\n  $ tenderbridge doctor --config /etc/tenderbridge/config.json --json')
    .action(
      action(io, async (ctx) => {
        const results: CheckResult[] = [];
        let config;
        try {
          config = ctx.config();
          results.push({ name: 'config', status: 'ok', detail: config.source });
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          results.push({ name: 'config', status: 'fail', detail: error.message });
        }
        if (config) {
          let db: Db | Error | null = null;
          let pool: PgPool | null = null;
          const database = config.database;
          const dbPath = database.kind === 'postgres' ? redactDatabaseUrl(database.url) : ctx.dbPath();
          ctx.defer(async () => {
            if (db !== null && !(db instanceof Error)) db.close();
            await pool?.end();
          });
          results.push(
            ...(await runChecks(checks, {
              config,
              dbPath,
              db: () => (db ??= database.kind === 'postgres' ? new Error('database.kind is postgres') : openForDoctor(dbPath)),
              pool: () => (database.kind === 'postgres' ? (pool ??= createPostgresPool(database)) : null),
              clock: ctx.clock,
              fetch: ctx.io.fetch ?? fetch,
              lookupHost: ctx.io.lookupHost ?? (async (hostname) => (await lookup(hostname, { all: true })).map((a) => a.address)),
              logger: cliLogger(ctx),
            })),
          );
        }
        const failed = results.filter((r) => r.status === 'fail').length;
        const warned = results.filter((r) => r.status === 'warn').length;
        if (ctx.json) ctx.out(renderJson({ ok: failed === 0, checks: results }));
        else {
          const width = Math.max(...results.map((r) => r.name.length));
          for (const r of results) ctx.out(`${MARK[r.status]}  ${r.name.padEnd(width)}  ${r.detail.replace(/\n/g, '\n' + ' '.repeat(width + 8))}\n`);
          ctx.out(`\n${failed === 0 ? 'healthy' : `${failed} check(s) failed`}${warned > 0 ? `, ${warned} warning(s)` : ''}\n`);
        }
        return failed === 0 ? EXIT.ok : EXIT.failure;
      }),
    );
}
