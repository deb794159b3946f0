import { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { isLoopbackHost } from '../../shared/net/ip-address.js';
import { createLogger, LOG_LEVELS } from '../../shared/logger.js';
import { magicAmountsText, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { action } from '../context.js';
import { CliError, EXIT, type CliIo } from '../io.js';

interface SandboxFlags {
  host: string;
  partpayPort: number;
  partnerPort: number;
  daemonUrl: string;
  autoDecide: number | null;
  orderTtl: number;
  logLevel: string;
  merchantId?: string;
  clientId?: string;
  clientSecret?: string;
  callbackKey?: string;
  partnerId?: string;
  partnerPassword?: string;
  outboundPassword?: string;
}

const port = (value: string): number => {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535 (0 picks a free one)');
  return Number(value);
};
const milliseconds = (value: string): number | null => {
  if (value === 'off') return null;
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('milliseconds as a whole number, or "off"');
  return Number(value);
};
const seconds = (value: string): number => {
  if (!/^\d{1,7}$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('seconds as a whole number above 0');
  return Number(value);
};
const level = (value: string): string => {
  if (!LOG_LEVELS.includes(value)) throw new InvalidArgumentError(`one of ${LOG_LEVELS.join(', ')}`);
  return value;
};

/** What the sandbox prints once both simulators listen (JSON with `--json`). */
function describe(sandbox: Sandbox, flags: SandboxFlags): string {
  const c = sandbox.config;
  return `tenderbridge sandbox: PartPay simulator on ${sandbox.partpayUrl}, Electrum partner simulator on ${sandbox.partnerUrl}
Callbacks and scans go to tenderbridge at ${flags.daemonUrl}.
Customer phone (approve or decline PartPay orders): ${sandbox.partpayUrl}/phone
Wallet (scan Electrum QR codes):                   ${sandbox.partnerUrl}/
PartPay orders decide themselves ${flags.autoDecide === null ? 'never (only on the phone page)' : `after ${flags.autoDecide} ms`}; see --help for the magic amounts.

Merge this into your tenderbridge config (add your stores on merchant "${c.merchants[0]?.id ?? ''}", terminals and Electrum POS clients; leave "simulators" off):
${JSON.stringify(c, null, 2)}

tenderbridge sandbox ready; Ctrl-C stops it.
`;
}

/**
 * Adds the sandbox's options, help and action to `command`: `tenderbridge sandbox` and the
 * standalone `tenderbridge-sandbox` bin share it. Runs until `io.untilStopped` resolves
 * (SIGINT or SIGTERM in the real process).
 * @example configureSandboxCommand(program.command('sandbox'), io);
 */
export function configureSandboxCommand(command: Command, io: CliIo): Command {
  return command
    .description('run the PartPay simulator and the Electrum partner simulator on their own, for POS development and CI')
    .option('--host <address>', 'address both simulators listen on', '127.0.0.1')
    .option('--partpay-port <port>', 'PartPay simulator port (0 picks a free one)', port, 8490)
    .option('--partner-port <port>', 'Electrum partner simulator port (0 picks a free one)', port, 8491)
    .option('--daemon-url <url>', "tenderbridge's base URL: PartPay callbacks and Electrum scans go there", 'http://127.0.0.1:8480')
    .option('--auto-decide <ms>', 'PartPay orders decide themselves after this many ms, by their cents ("off": only on the phone page)', milliseconds, 2000)
    .option('--order-ttl <seconds>', 'undecided PartPay orders expire after this long', seconds, 300)
    .option('--log-level <level>', 'simulator log lines on stderr from this level up', level, 'warn')
    .option('--merchant-id <id>', 'PartPay Merchant Id (default SANDBOX-MERCHANT-0001)')
    .option('--client-id <id>', 'PartPay OAuth client id (default sandbox-client)')
    .option('--client-secret <secret>', 'PartPay OAuth client secret (default sandbox-client-secret)')
    .option('--callback-key <key>', 'key PartPay signs callbacks with (default sandbox-callback-key)')
    .option('--partner-id <id>', 'Electrum partner id, its user towards tenderbridge (default sandbox-partner)')
    .option('--partner-password <secret>', 'password the partner sends to tenderbridge (default sandbox-partner-secret)')
    .option('--outbound-password <secret>', "password tenderbridge sends to the partner, user \"tenderbridge\" (default sandbox-intermediate-secret)")
    .addHelpText(
      'after',
      `
Prints the config sections (partpay, merchants, electrum.partners) that point a tenderbridge at
it, then runs until SIGINT or SIGTERM. The credentials are sandbox values, fixed unless given.
Both simulators listen on loopback unless --host says otherwise.

${magicAmountsText()}
PartPay orders can also be approved or declined by hand at <partpay>/phone (use --auto-decide off),
and Electrum QR codes scanned at <partner>/ or with POST <partner>/sim/scan {"qrCode": "..."}.
Faults (errors, timeouts, rate limits, bad signatures): POST /admin/faults on either simulator.

Examples:
  $ npx tenderbridge-sandbox
  $ tenderbridge sandbox --daemon-url http://127.0.0.1:8480 --auto-decide off
  $ tenderbridge sandbox --partpay-port 0 --partner-port 0 --json   # CI: one JSON line with the URLs and config`,
    )
    .action(
      action(io, async (ctx, flags: SandboxFlags) => {
        let daemonUrl: URL;
        try {
          daemonUrl = new URL(flags.daemonUrl);
        } catch {
          throw new CliError(`--daemon-url "${flags.daemonUrl}" is not a URL: give tenderbridge's base URL, e.g. http://127.0.0.1:8480`, EXIT.usage);
        }
        if (daemonUrl.protocol !== 'http:' && daemonUrl.protocol !== 'https:') throw new CliError('--daemon-url must be an http or https URL', EXIT.usage);
        if (!isLoopbackHost(flags.host)) ctx.err(`warning: the sandbox listens on ${flags.host}, not loopback: anyone who reaches it can approve payments and read its credentials\n`);
        const logger = createLogger({ level: flags.logLevel, stream: new Writable({ write: (chunk, _enc, done) => void (io.stderr.write(String(chunk)), done()) }) });
        const sandbox = await startSandbox(
          {
            host: flags.host,
            partpayPort: flags.partpayPort,
            partnerPort: flags.partnerPort,
            daemonUrl: flags.daemonUrl,
            autoDecideAfterMs: flags.autoDecide,
            orderTtlMs: flags.orderTtl * 1000,
            credentials: {
              ...(flags.merchantId ? { merchantId: flags.merchantId } : {}),
              ...(flags.clientId ? { clientId: flags.clientId } : {}),
              ...(flags.clientSecret ? { clientSecret: flags.clientSecret } : {}),
              ...(flags.callbackKey ? { callbackKey: flags.callbackKey } : {}),
              ...(flags.partnerId ? { partnerId: flags.partnerId } : {}),
              ...(flags.partnerPassword ? { partnerPassword: flags.partnerPassword } : {}),
              ...(flags.outboundPassword ? { outboundPassword: flags.outboundPassword } : {}),
            },
          },
          logger,
        ).catch((error: unknown) => {
          throw new CliError(`the sandbox could not start: ${error instanceof Error ? error.message : String(error)}`);
        });
        ctx.defer(() => sandbox.close());
        // --json: one line, so a CI script can read it as soon as it appears.
        ctx.out(ctx.json ? `${JSON.stringify({ partpayUrl: sandbox.partpayUrl, partnerUrl: sandbox.partnerUrl, daemonUrl: flags.daemonUrl, config: sandbox.config })}\n` : describe(sandbox, flags));
        const signal = await (io.untilStopped?.() ?? new Promise<never>(() => undefined));
        ctx.err(`tenderbridge sandbox: ${signal}, stopping\n`);
        return EXIT.ok;
      }),
    );
}

/** `tenderbridge sandbox`. */
export function registerSandboxCommand(program: Command, io: CliIo): void {
  configureSandboxCommand(program.command('sandbox'), io);
}
