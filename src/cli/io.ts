import type { BuildInfo } from '../ops/build-info.js';
/** Where a CLI run writes, what it reads from its environment, and the exit codes it returns. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
  /** Working directory: relative `--config` and database paths resolve against it. */
  cwd: string;
  /** Folder holding `config/default.json`; defaults to the package root. */
  appRoot?: string;
  /** Which tenderbridge this is (`--version`); read from the install by the entry point. */
  build?: BuildInfo;
  /** Epoch ms; injectable so tests can fake a skewed clock. */
  clock?: () => number;
  /** HTTP client for the doctor's clock check; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Addresses a host name resolves to, for the doctor's partner address check; defaults to the system resolver. */
  lookupHost?: (hostname: string) => Promise<string[]>;
  /** Resolves with the signal's name when the process is asked to stop (SIGINT, SIGTERM); long-running commands (`sandbox`) wait on it. */
  untilStopped?: () => Promise<string>;
}

/** Exit codes (sysexits.h where one fits). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** EX_CONFIG, as the daemon uses for a bad config. */
  config: 78,
} as const;

/** A failure the CLI reports as one line on stderr and turns into an exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failure, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A command-line argument that is well-formed for commander but not for us (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}
