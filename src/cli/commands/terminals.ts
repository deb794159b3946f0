import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { profileKey, type DisplayProfile } from '../../qr/display-profile.js';
import type { Terminal } from '../../registry/registry.js';
import { hashApiKey, type Config } from '../../shared/config/load.js';
import { action, type CliContext, type CliRegistry } from '../context.js';
import { CliError, EXIT, usageError, type CliIo } from '../io.js';
import { renderJson, renderTable } from '../output.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A new terminal API key: 192 random bits, recognisable by its prefix. */
export function generateApiKey(): string {
  return `tb_${randomBytes(24).toString('base64url')}`;
}

/** The profile's name in config, or a description of an inline one. */
function profileName(config: Config, profile: DisplayProfile): string {
  const key = profileKey(profile);
  const named = Object.entries(config.displayProfiles).find(([, p]) => profileKey(p) === key && p.quality === profile.quality);
  return named ? named[0] : `inline (${key})`;
}

function printKey(ctx: CliContext, terminal: Terminal, key: string, verb: string): void {
  const json = { terminal: { id: terminal.id, storeId: terminal.storeId, merchantId: terminal.merchantId }, apiKey: key, apiKeyHash: hashApiKey(key) };
  if (ctx.json) {
    ctx.out(renderJson(json));
    return;
  }
  ctx.out(`Terminal ${terminal.id} ${verb} (store ${terminal.storeId}, merchant ${terminal.merchantId}).\n`);
  ctx.out(`\nAPI key (shown ONCE, only its hash is kept; put it in the terminal now):\n\n  ${key}\n\n`);
  ctx.out(`The terminal sends it as "Authorization: Bearer <key>". Its hash, for a config file's apiKeyHash:\n  ${json.apiKeyHash}\n`);
}

function assertNotInConfig(config: Config, id: string, what: string): void {
  if (config.terminals.some((t) => t.id === id)) {
    throw new CliError(`terminal ${id} is declared in the config file, which wins at every daemon start: ${what} there instead`);
  }
}

/** `tenderbridge terminals add|list|rotate-key|disable|enable|remove`. */
export function registerTerminalCommands(program: Command, io: CliIo): void {
  const terminals = program.command('terminals').description('add terminals, list them, rotate their API keys, disable, enable or remove them');

  terminals
    .command('add')
    .description('add a terminal to a store and print its new API key once')
    .argument('<id>', 'terminal id (1-64 letters, digits, dot, dash, underscore)')
    .requiredOption('--store <store>', 'the store it stands in (an id from the config)')
    .option('--profile <name>', 'display profile name from the config', 'default')
    .addHelpText('after', '\nRefuses an id that already exists: use `terminals rotate-key` for a new key.\n\nExamples:\n  $ tenderbridge terminals add TERM0003 --store STORE001\n  $ tenderbridge terminals add LANE-7 --store STORE002 --profile mono-receipt --json')
    .action(
      action(io, async (ctx, id: string, opts: { store: string; profile: string }) => {
        if (!ID.test(id)) throw usageError(`terminal id "${id}" must be 1-64 letters, digits, dot, dash or underscore`);
        const config = ctx.config();
        const profile = config.displayProfiles[opts.profile];
        if (!profile) throw new CliError(`no display profile "${opts.profile}" in the config (have: ${Object.keys(config.displayProfiles).join(', ')})`);
        if (!config.stores.some((s) => s.id === opts.store)) throw new CliError(`no store "${opts.store}" in the config (have: ${config.stores.map((s) => s.id).join(', ') || 'none'})`);
        assertNotInConfig(config, id, 'add it (apiKey or apiKeyHash)');
        const registry = await ctx.openRegistry();
        if (registry.terminal(id)) throw new CliError(`terminal ${id} already exists: use \`tenderbridge terminals rotate-key ${id}\` for a new key`);
        const key = generateApiKey();
        await registry.upsertTerminal({ id, storeId: opts.store, apiKeyHash: hashApiKey(key), displayProfile: profile }, ctx.clock());
        printKey(ctx, registry.terminal(id) as Terminal, key, 'added');
        return EXIT.ok;
      }),
    );

  terminals
    .command('list')
    .description('list the terminals the daemon knows (from config and from this CLI)')
    .addHelpText('after', '\nExamples:\n  $ tenderbridge terminals list\n  $ tenderbridge terminals list --json')
    .action(
      action(io, async (ctx) => {
        const config = ctx.config();
        const list = (await ctx.openRegistry({ readonly: true })).terminals();
        const rows = list.map((t) => ({ id: t.id, storeId: t.storeId, merchantId: t.merchantId, source: t.source, profile: profileName(config, t.displayProfile), disabled: t.disabled }));
        if (ctx.json) ctx.out(renderJson({ terminals: rows }));
        else if (rows.length === 0) ctx.out('no terminals yet: add one with `tenderbridge terminals add <id> --store <store>`\n');
        else ctx.out(renderTable(['id', 'store', 'merchant', 'source', 'profile', 'disabled'], rows.map((r) => [r.id, r.storeId, r.merchantId, r.source, r.profile, r.disabled ? 'yes' : 'no'])));
        return EXIT.ok;
      }),
    );

  terminals
    .command('rotate-key')
    .description('give a terminal a new API key (printed once); the old key stops working at once')
    .argument('<id>', 'terminal id')
    .addHelpText('after', '\nExamples:\n  $ tenderbridge terminals rotate-key TERM0003')
    .action(
      action(io, async (ctx, id: string) => {
        const config = ctx.config();
        const registry = await ctx.openRegistry();
        const terminal = registry.terminal(id);
        if (!terminal) throw new CliError(`no terminal ${id} (or its store is no longer configured): see \`tenderbridge terminals list\``);
        assertNotInConfig(config, id, 'change its key (apiKey or apiKeyHash)');
        const key = generateApiKey();
        await registry.upsertTerminal({ id, storeId: terminal.storeId, apiKeyHash: hashApiKey(key), displayProfile: terminal.displayProfile }, ctx.clock());
        printKey(ctx, terminal, key, 're-keyed: the old key no longer works');
        return EXIT.ok;
      }),
    );

  registerLifecycleCommands(terminals, io);
}

/** The terminal `id`, or a CliError pointing at `terminals list`. */
function existing(registry: Pick<CliRegistry, 'terminal'>, id: string): Terminal {
  const terminal = registry.terminal(id);
  if (!terminal) throw new CliError(`no terminal ${id} (or its store is no longer configured): see \`tenderbridge terminals list\``);
  return terminal;
}

/** `terminals disable|enable|remove`. */
function registerLifecycleCommands(terminals: Command, io: CliIo): void {
  const toggle = (disabled: boolean) =>
    action(io, async (ctx, id: string) => {
      const registry = await ctx.openRegistry();
      const terminal = existing(registry, id);
      const changed = terminal.disabled !== disabled;
      if (changed) await registry.setDisabled(id, disabled, ctx.clock());
      const state = disabled ? 'disabled' : 'enabled';
      if (ctx.json) ctx.out(renderJson({ terminal: id, disabled, changed }));
      else if (!changed) ctx.out(`terminal ${id} is already ${state}\n`);
      else if (disabled) ctx.out(`terminal ${id} disabled: the running daemon refuses its key from its next request on (401); \`tenderbridge terminals enable ${id}\` undoes it\n`);
      else ctx.out(`terminal ${id} enabled: its key works again\n`);
      return EXIT.ok;
    });

  terminals
    .command('disable')
    .description("refuse a terminal's key at once (401), keeping the terminal, its key and its history")
    .argument('<id>', 'terminal id')
    .addHelpText('after', '\nFor a lost or stolen terminal, or a lane out of service. Payments it already made go on\nsettling (callbacks, refunds owed). Works for terminals declared in the config file too, and\nstays disabled across restarts.\n\nExamples:\n  $ tenderbridge terminals disable TERM0003')
    .action(toggle(true));

  terminals
    .command('enable')
    .description('accept a disabled terminal\'s key again')
    .argument('<id>', 'terminal id')
    .addHelpText('after', '\nExamples:\n  $ tenderbridge terminals enable TERM0003')
    .action(toggle(false));

  terminals
    .command('remove')
    .description('delete a terminal and its key; its payments and their history are kept')
    .argument('<id>', 'terminal id')
    .addHelpText(
      'after',
      '\nRefused while any of its payments is open, flagged for an operator, or owes a delivery\n(a refund, cancel or advice): settle those first (`tenderbridge payments list --terminal ID`).\nIts payments, their journal and the end-of-day reports keep the terminal id; the purge job\ndeletes them after retention.paymentDays like any other. The id can be added again later.\nA terminal declared in the config file is removed there instead.\n\nExamples:\n  $ tenderbridge terminals remove LANE-7',
    )
    .action(
      action(io, async (ctx, id: string) => {
        const config = ctx.config();
        const registry = await ctx.openRegistry();
        existing(registry, id);
        assertNotInConfig(config, id, 'remove it (then run this again to delete its row)');
        const work = await (await ctx.openStore()).store.repos.payments.unsettledOfTerminal(id);
        const blocking = [
          work.open > 0 ? `${work.open} payment(s) still open` : '',
          work.attention > 0 ? `${work.attention} payment(s) flagged for an operator` : '',
          work.owed > 0 ? `${work.owed} owed deliveries not done` : '',
        ].filter(Boolean);
        if (blocking.length > 0) {
          throw new CliError(`terminal ${id} has ${blocking.join(', ')}: settle them first (\`tenderbridge payments list --terminal ${id}\`), or \`tenderbridge terminals disable ${id}\` to stop it now`);
        }
        await registry.remove(id);
        if (ctx.json) ctx.out(renderJson({ terminal: id, removed: true, paymentsKept: work.total }));
        else ctx.out(`terminal ${id} removed: its key no longer works. Its ${work.total} payment(s) and their history are kept under the id ${id} (reports, \`payments list --terminal ${id}\`) until the purge job deletes them after retention.\n`);
        return EXIT.ok;
      }),
    );
}
