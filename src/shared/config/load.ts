import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { z } from 'zod';
import type { DisplayProfile } from '../../qr/display-profile.js';
import { displayProfileSchema } from '../../qr/display-profile.js';
import { digitsConflict, isCurrency } from '../currency.js';
import { postgresUrlProblem, type DatabaseConfig } from './database-schema.js';
import { configSchema, type RawConfig } from './schema.js';
import { WEBHOOK_SECRET_MIN_LENGTH } from './webhooks-schema.js';
import { describeSecret, resolveSecret, type SecretContext, type SecretRef } from './secret.js';

/** A merchant with its secrets resolved. */
export interface Merchant {
  id: string;
  name: string;
  partpayMerchantId: string;
  clientId: string;
  clientSecret: string;
  callbackKeys: string[];
  currency: string;
}

/** A terminal as declared in config, its key reduced to a hash. */
export interface TerminalSeed {
  id: string;
  storeId: string;
  apiKeyHash: string;
  displayProfile: DisplayProfile;
}

/** The effective configuration: validated, defaults applied, secrets resolved. */
/** An Electrum POS client with its password resolved. */
export interface ElectrumClient {
  id: string;
  password: string;
  terminals: string[];
  provider: 'electrum' | 'partpay';
}

/** An Electrum partner with its passwords resolved. */
export interface ElectrumPartner {
  id: string;
  name: string;
  password: string;
  baseUrl: string;
  username: string;
  outboundPassword: string;
}

/** A webhook endpoint with its signing secret resolved. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  secret: string;
  terminals?: string[] | undefined;
  stores?: string[] | undefined;
}

export interface Config extends Omit<RawConfig, 'database' | 'merchants' | 'terminals' | 'ops' | 'electrum' | 'webhooks'> {
  /** SQLite's file, or PostgreSQL's URL resolved (it carries the password: never log it). */
  database: DatabaseConfig;
  webhooks: Omit<RawConfig['webhooks'], 'endpoints'> & { endpoints: WebhookEndpoint[] };
  electrum: Omit<RawConfig['electrum'], 'clients' | 'partners'> & { clients: ElectrumClient[]; partners: ElectrumPartner[] };
  ops: { metricsAccess: 'loopback' | 'token'; metricsToken: string | null; readinessToken: string | null; operators: Array<{ name: string; password: string }>; console: RawConfig['ops']['console'] };
  /** The file it came from (for messages). */
  source: string;
  merchants: Merchant[];
  terminals: TerminalSeed[];
  /** The file as written, for printing with secrets masked. */
  raw: RawConfig;
}

/** Start-up must stop: the message names the file, each bad key and what is wrong. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid config ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Hash under which terminal API keys are kept: keys are random, so a fast hash suffices. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/**
 * Chooses the config file: `--config FILE` wins, then `TENDERBRIDGE_CONFIG`, then
 * `config/default.json` under `defaultDir`.
 */
export function configPathFrom(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, defaultDir: string): string {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (i !== -1) {
    const arg = argv[i] ?? '';
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
    if (!value || value.startsWith('--')) throw new ConfigError('(command line)', ['--config needs a file path']);
    return resolve(value);
  }
  if (env['TENDERBRIDGE_CONFIG']) return resolve(env['TENDERBRIDGE_CONFIG']);
  return resolve(defaultDir, 'config/default.json');
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '') || '(root)';
}

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') return `${where}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${where}: ${issue.message}`;
  });
}

/**
 * Why a merchant currency cannot be used, or null. Amounts cross three readers: `/v1` terminals
 * (ISO minor units), PartPay (decimal major units) and Electrum partners (ISO minor units, and
 * wallets that show them). A currency whose ISO 4217 digits differ from common use (CLDR) could
 * be read 100x apart by one of them, so it is refused rather than guessed at.
 */
function merchantCurrencyProblem(currency: string): string | null {
  if (!isCurrency(currency)) return `"${currency}" is not an ISO 4217 currency`;
  const conflict = digitsConflict(currency);
  if (conflict === null) return null;
  const common = conflict.commonUse === null ? 'no common-use (CLDR) data' : `${conflict.commonUse} in common use (CLDR)`;
  const apart = conflict.commonUse === null ? 'with different digits' : `${10 ** Math.abs(conflict.iso - conflict.commonUse)}x apart`;
  return `${currency} has ${conflict.iso} minor-unit digits in ISO 4217 but ${common}; amounts could be read ${apart} by PartPay, Electrum partners and terminals; not supported`;
}

/**
 * Validates a parsed config object and resolves its secrets. Collects every problem before
 * throwing, so one run of `config check` shows them all.
 * @example parseConfig(JSON.parse(text), { source: 'x.json', env: process.env, configDir: '.' })
 */
export function parseConfig(value: unknown, options: SecretContext & { source: string }): Config {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(options.source, formatIssues(parsed.error));
  const raw = parsed.data;
  const problems: string[] = [];
  const secret = (ref: SecretRef, where: string): string => {
    try {
      return resolveSecret(ref, options);
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
      return '';
    }
  };
  const merchants = raw.merchants.map((m, i) => ({
    ...m,
    clientSecret: secret(m.clientSecret, `merchants[${i}].clientSecret`),
    callbackKeys: m.callbackKeys.map((k, j) => secret(k, `merchants[${i}].callbackKeys[${j}]`)),
  }));
  merchants.forEach((m, i) => {
    const problem = merchantCurrencyProblem(m.currency);
    if (problem !== null) problems.push(`merchants[${i}].currency: ${problem}`);
  });
  const profiles = new Map<string, DisplayProfile>([['default', displayProfileSchema.parse({})], ...Object.entries(raw.displayProfiles)]);
  const terminals = raw.terminals.map((t, i) => ({
    id: t.id,
    storeId: t.store,
    apiKeyHash: t.apiKeyHash ?? hashApiKey(secret(t.apiKey as SecretRef, `terminals[${i}].apiKey`)),
    displayProfile: typeof t.displayProfile === 'string' ? (profiles.get(t.displayProfile) as DisplayProfile) : t.displayProfile,
  }));
  const electrum = {
    ...raw.electrum,
    clients: raw.electrum.clients.map((c, i) => ({ ...c, password: secret(c.password, `electrum.clients[${i}].password`) })),
    partners: raw.electrum.partners.map((p, i) => ({
      ...p,
      password: secret(p.password, `electrum.partners[${i}].password`),
      outboundPassword: secret(p.outboundPassword, `electrum.partners[${i}].outboundPassword`),
    })),
  };
  const ops = {
    metricsAccess: raw.ops.metricsAccess,
    metricsToken: raw.ops.metricsToken === undefined ? null : secret(raw.ops.metricsToken, 'ops.metricsToken'),
    readinessToken: raw.ops.readinessToken === undefined ? null : secret(raw.ops.readinessToken, 'ops.readinessToken'),
    operators: raw.ops.operators.map((o, i) => ({ name: o.name, password: secret(o.password, `ops.operators[${i}].password`) })),
    console: raw.ops.console,
  };
  const webhooks = {
    ...raw.webhooks,
    endpoints: raw.webhooks.endpoints.map((e, i) => {
      const where = `webhooks.endpoints[${i}].secret`;
      const value = secret(e.secret, where);
      if (value !== '' && value.length < WEBHOOK_SECRET_MIN_LENGTH) {
        problems.push(`${where}: must be at least ${WEBHOOK_SECRET_MIN_LENGTH} characters (it is ${value.length}); generate one with: openssl rand -hex 32`);
      }
      return { ...e, secret: value };
    }),
  };
  const database = databaseOf(raw.database, secret, problems);
  if (problems.length > 0) throw new ConfigError(options.source, problems);
  const { merchants: _m, terminals: _t, ops: _o, electrum: _e, webhooks: _w, database: _d, ...rest } = raw;
  return { ...rest, database, ops, electrum, webhooks, displayProfiles: Object.fromEntries(profiles), source: options.source, merchants, terminals, raw };
}

/** The database section with PostgreSQL's URL resolved and checked (a problem never quotes the URL: it holds the password). */
function databaseOf(raw: RawConfig['database'], secret: (ref: SecretRef, where: string) => string, problems: string[]): DatabaseConfig {
  if (raw.kind === 'sqlite') return raw;
  const url = secret(raw.url, 'database.url');
  const problem = url === '' ? null : postgresUrlProblem(url);
  if (problem !== null) problems.push(`database.url: ${problem}`);
  return { kind: 'postgres', url, pool: raw.pool };
}

/** Reads, validates and resolves a config file. Throws {@link ConfigError}. */
export function loadConfigFile(path: string, env: Readonly<Record<string, string | undefined>>): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  // JSON with comments (and trailing commas) so the shipped example can explain each key.
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    throw new ConfigError(
      path,
      errors.map((e) => {
        const before = text.slice(0, e.offset);
        const line = before.split('\n').length;
        const column = e.offset - before.lastIndexOf('\n');
        return `not valid JSON at line ${line}, column ${column}: ${printParseErrorCode(e.error)}`;
      }),
    );
  }
  return parseConfig(value, { source: path, env, configDir: dirname(path) });
}

/** The config as written, every secret replaced by where it comes from. Safe to log. */
export function maskedConfig(raw: RawConfig): unknown {
  return {
    ...raw,
    database: raw.database.kind === 'postgres' ? { ...raw.database, url: describeSecret(raw.database.url) } : raw.database,
    merchants: raw.merchants.map((m) => ({ ...m, clientSecret: describeSecret(m.clientSecret), callbackKeys: m.callbackKeys.map(describeSecret) })),
    terminals: raw.terminals.map((t) => ({ ...t, ...(t.apiKey === undefined ? {} : { apiKey: describeSecret(t.apiKey) }) })),
    electrum: {
      ...raw.electrum,
      clients: raw.electrum.clients.map((c) => ({ ...c, password: describeSecret(c.password) })),
      partners: raw.electrum.partners.map((p) => ({ ...p, password: describeSecret(p.password), outboundPassword: describeSecret(p.outboundPassword) })),
    },
    webhooks: { ...raw.webhooks, endpoints: raw.webhooks.endpoints.map((e) => ({ ...e, secret: describeSecret(e.secret) })) },
    ops: {
      ...raw.ops,
      ...(raw.ops.metricsToken === undefined ? {} : { metricsToken: describeSecret(raw.ops.metricsToken) }),
      ...(raw.ops.readinessToken === undefined ? {} : { readinessToken: describeSecret(raw.ops.readinessToken) }),
      operators: raw.ops.operators.map((o) => ({ name: o.name, password: describeSecret(o.password) })),
    },
  };
}
