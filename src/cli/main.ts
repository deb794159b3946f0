/**
 * Entry of the `tenderbridge` CLI (bin/tenderbridge.js imports the compiled file) and of the
 * `tenderbridge-sandbox` bin (which puts `sandbox` first in process.argv). The only place the
 * CLI touches process globals.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBuildInfo } from '../ops/build-info.js';
import { createCli, runCli } from './program.js';
import { untilStopSignal } from './stop-signals.js';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), build: readBuildInfo(appRoot), untilStopped: untilStopSignal };
runCli(createCli(io), process.argv.slice(2)).then(
  (code) => {
    // exitCode, not exit(): let stdout drain when it is a pipe.
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`tenderbridge: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
