import { Command, CommanderError } from 'commander';
import { registerConfigCommands } from './commands/config.js';
import { registerDbCommands } from './commands/db.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerPaymentCommands } from './commands/payments.js';
import { registerReportCommand } from './commands/report.js';
import { registerSandboxCommand } from './commands/sandbox.js';
import { registerTerminalCommands } from './commands/terminals.js';
import { EXIT_SIGNAL } from './context.js';
import { EXIT, type CliIo } from './io.js';
import { describeBuild } from '../ops/build-info.js';
import { neutraliseControls } from '../shared/text.js';

/**
 * Builds the `tenderbridge` command-line program. Nothing runs until it is parsed, and no
 * command calls `process.exit`: run it with {@link runCli} to get the exit code.
 * @example
 * const code = await runCli(createCli({ stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }), ['doctor']);
 */
export function createCli(io: CliIo): Command {
  const program = new Command('tenderbridge');
  // Set before adding commands: subcommands inherit output, exit and help settings.
  program
    // Usage errors quote the arguments given: neutralised like every other output (see CliContext.out).
    .configureOutput({ writeOut: (s) => void io.stdout.write(neutraliseControls(s)), writeErr: (s) => void io.stderr.write(neutraliseControls(s)) })
    .exitOverride()
    .showHelpAfterError()
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .description('Store IT tool for the tenderbridge payment daemon: check config and health, manage terminals, inspect and resolve payments, end-of-day reports, database backup.')
    .version(io.build ? describeBuild(io.build) : 'unknown', '-V, --version', 'print the version (and the commit it was built from)')
    .option('--config <file>', 'config file (default: $TENDERBRIDGE_CONFIG, else config/default.json of the install)')
    .option('--json', 'machine-readable JSON on stdout instead of tables')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 failure, 2 usage error, 78 bad config.
The CLI opens the daemon's own SQLite database; it is safe to run while the daemon runs.

Examples:
  $ tenderbridge doctor --config /etc/tenderbridge/config.json
  $ tenderbridge terminals add TERM0003 --store STORE001
  $ tenderbridge payments list --attention
  $ tenderbridge report --date 2026-03-01 --csv > eod.csv
  $ tenderbridge sandbox --help`,
    );
  registerConfigCommands(program, io);
  registerDoctorCommand(program, io);
  registerTerminalCommands(program, io);
  registerPaymentCommands(program, io);
  registerReportCommand(program, io);
  registerDbCommands(program, io);
  registerSandboxCommand(program, io);
  return program;
}

/** Commander's own codes that mean "you typed it wrong". */
const USAGE_CODES = new Set([
  'commander.unknownCommand',
  'commander.unknownOption',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.invalidArgument',
  'commander.excessArguments',
  'commander.conflictingOption',
]);

/**
 * Parses `argv` (without node and script) and runs the command; resolves with the exit code.
 */
export async function runCli(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === EXIT_SIGNAL) return error.exitCode;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    // `help <command>` exits 0; a command group given without its subcommand exits 1: usage.
    if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (USAGE_CODES.has(error.code)) return EXIT.usage;
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
}
