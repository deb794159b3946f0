import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCli, runCli } from '../../src/cli/program.js';
import type { CliIo } from '../../src/cli/io.js';
import { CALLBACK_KEY, CLIENT_SECRET, type Harness } from '../support/harness.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

/** Runs the CLI in-process with captured output. */
export async function runTb(argv: string[], io: Partial<CliIo> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    createCli({
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
      cwd: tmpdir(),
      ...io,
    }),
    argv,
  );
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tenderbridge-cli-'));
}

/** A valid config as JSON; `patch` replaces whole top-level sections. */
export function baseConfig(dir: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    database: { path: join(dir, 'tb.db') },
    partpay: { tokenUrl: 'http://127.0.0.1:9/oauth/token', audience: 'https://auth-test.partpay.example', apiBaseUrl: 'http://127.0.0.1:9/api', callbackUrl: 'https://tb.example-store.co.nz/partpay/callback' },
    merchants: [{ id: 'm1', name: 'Test Merchant', partpayMerchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: CLIENT_SECRET, callbackKeys: [CALLBACK_KEY], currency: 'NZD' }],
    stores: [
      { id: 'S1', name: 'Test Store', merchant: 'm1' },
      { id: 'S2', name: 'Second Store', merchant: 'm1' },
    ],
    displayProfiles: { jpegMono: { format: 'jpeg', size: 200, margin: 10, colour: 'mono' } },
    ...patch,
  };
}

/** Writes a config file and returns its path. */
export function writeConfig(dir: string, value: unknown, name = 'config.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

/** A config for the CLI pointing at a running harness: its database and its PartPay simulator. */
export function harnessConfig(h: Harness, dir: string, merchantPatch: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  const sim = h.sim.url();
  const base = baseConfig(dir);
  return writeConfig(dir, {
    ...base,
    database: { path: h.dbPath },
    partpay: { tokenUrl: `${sim}/oauth/token`, audience: 'https://auth-test.partpay.example', apiBaseUrl: `${sim}/api`, callbackUrl: `${h.url}/partpay/callback`, requestTimeoutMs: 3000, retries: { attempts: 2, initialDelayMs: 20 } },
    merchants: [{ ...(base['merchants'] as Array<Record<string, unknown>>)[0], ...merchantPatch }],
    ...extra,
  }, `config-${Math.random().toString(36).slice(2)}.json`);
}
