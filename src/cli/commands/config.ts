import type { Command } from 'commander';
import { redactDatabaseUrl } from '../../shared/config/database-schema.js';
import { ConfigError, maskedConfig } from '../../shared/config/load.js';
import { action } from '../context.js';
import { EXIT, type CliIo } from '../io.js';
import { renderJson, renderTable } from '../output.js';

/** `tenderbridge config check`: validates the config the daemon would load. */
export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the config file and print every problem, or a summary with secrets masked')
    .addHelpText(
      'after',
      `
Exits 78 when the config has problems (the same check the daemon makes at start-up).

Examples:
  $ tenderbridge config check --config /etc/tenderbridge/config.json
  $ TENDERBRIDGE_CONFIG=/etc/tenderbridge/config.json tenderbridge config check --json`,
    )
    .action(
      action(io, (ctx) => {
        const path = ctx.configPath();
        let cfg;
        try {
          cfg = ctx.config();
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          if (ctx.json) ctx.out(renderJson({ ok: false, file: path, problems: error.problems }));
          else ctx.err(`config ${path} has ${error.problems.length} problem(s):\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
          return EXIT.config;
        }
        const summary = {
          merchants: cfg.merchants.length,
          stores: cfg.stores.length,
          terminals: cfg.terminals.length,
          displayProfiles: Object.keys(cfg.displayProfiles).length,
          database: cfg.database.kind === 'sqlite' ? ctx.dbPath() : `PostgreSQL ${redactDatabaseUrl(cfg.database.url)}`,
          simulator: cfg.simulators.partpay.enabled,
        };
        if (ctx.json) {
          ctx.out(renderJson({ ok: true, file: path, summary, config: maskedConfig(cfg.raw) }));
          return EXIT.ok;
        }
        ctx.out(`config OK: ${path}\n`);
        ctx.out(`  ${summary.merchants} merchant(s), ${summary.stores} store(s), ${summary.terminals} terminal(s) in config, ${summary.displayProfiles} display profile(s)\n`);
        ctx.out(`  database: ${summary.database}${summary.simulator ? '\n  PartPay simulator: enabled (demo only)' : ''}\n`);
        ctx.out(`  PartPay: token ${cfg.partpay.tokenUrl}, API ${cfg.partpay.apiBaseUrl}, callback ${cfg.partpay.callbackUrl ?? '(not sent)'}\n`);
        const masked = maskedConfig(cfg.raw) as { merchants: Array<{ id: string; name: string; partpayMerchantId: string; clientId: string; clientSecret: string; callbackKeys: string[]; currency: string }> };
        ctx.out(
          renderTable(
            ['merchant', 'name', 'PartPay merchant id', 'client id', 'client secret', 'callback keys', 'currency'],
            masked.merchants.map((m) => [m.id, m.name, m.partpayMerchantId, m.clientId, m.clientSecret, m.callbackKeys.join(', '), m.currency]),
          ),
        );
        return EXIT.ok;
      }),
    );
}
