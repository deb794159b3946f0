import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError, type Command } from 'commander';
import { createElectrumRepository } from '../electrum/repository.js';
import { createOutboxRepository } from '../outbox/repository.js';
import { createPaymentRepository } from '../payments/repository.js';
import { endOfDayReport, type EndOfDayReport } from '../reports/end-of-day.js';
import { redactDatabaseUrl, sqlitePath } from '../shared/config/database-schema.js';
import { immediateCommit } from '../shared/db/group-commit.js';
import { postgresSchemaVersion } from '../shared/db/postgres/migrate.js';
import { POSTGRES_LATEST_VERSION } from '../shared/db/postgres/migrations.js';
import { createPostgresPool, type PgPool } from '../shared/db/postgres/pool.js';
import type { DisplayProfile } from '../qr/display-profile.js';
import { createRegistry, type Terminal } from '../registry/registry.js';
import { createPostgresRegistry } from '../storage/postgres/registry.js';
import type { Repos, Store } from '../storage/port.js';
import { pgEndOfDayReport } from '../storage/postgres/reports.js';
import { postgresStore } from '../storage/postgres/store.js';
import { sqliteStore } from '../storage/sqlite-store.js';
import { ConfigError, configPathFrom, loadConfigFile, type Config } from '../shared/config/load.js';
import { assertNotNewer, DatabaseError, LATEST_VERSION, openDatabase, schemaVersion, type Db } from '../shared/db/open.js';
import { isAppError } from '../shared/errors.js';
import { neutraliseControls } from '../shared/text.js';
import { CliError, EXIT, type CliIo } from './io.js';

/** src/cli or dist/cli → the package root, where config/default.json lives. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What every command receives: its output, the config and database on demand, cleanup. */
export interface CliContext {
  io: CliIo;
  /** `--json` was given: write one JSON document to stdout instead of tables. */
  json: boolean;
  clock: () => number;
  /** Writes to stdout, every control character but newline and tab shown as `\uXXXX`. */
  out(text: string): void;
  /** Writes to stderr, neutralised like {@link CliContext.out}. */
  err(text: string): void;
  /** The config file this run uses (`--config`, `TENDERBRIDGE_CONFIG`, or the default). */
  configPath(): string;
  /** The validated config; throws {@link ConfigError} (exit 78). */
  config(): Config;
  /** The configured SQLite path, resolved against the working directory like the daemon's; refused for PostgreSQL (commands that support it check `config().database.kind` first). */
  dbPath(): string;
  /**
   * Opens the daemon's database, which must exist and be at this build's schema version
   * (the CLI never migrates behind the daemon's back, except `db migrate`). Closed after the command.
   */
  openDb(options?: { readonly?: boolean }): Db;
  /**
   * The configured database, SQLite or PostgreSQL, through the storage port (each write committed
   * at once), with the end-of-day report's queries: for the commands that work on either.
   */
  openStore(options?: { readonly?: boolean; wrap?: (r: Repos) => Repos }): Promise<CliStore>;
  /** The terminals of the configured database, SQLite or PostgreSQL. */
  openRegistry(options?: { readonly?: boolean }): Promise<CliRegistry>;
  /** The configured PostgreSQL server's pool (checked to be at this build's schema), closed when the command ends. */
  postgresPool(): Promise<PgPool>;
  /** Registers something to close when the command ends. */
  defer(cleanup: () => void | Promise<void>): void;
}

/** The registry as the CLI changes it, on either database. */
export interface CliRegistry {
  terminal(id: string): Terminal | null;
  terminals(): Terminal[];
  upsertTerminal(t: { id: string; storeId: string; apiKeyHash: string; displayProfile: DisplayProfile }, at: number): Promise<void>;
  setDisabled(id: string, disabled: boolean, at: number): Promise<boolean>;
  remove(id: string): Promise<boolean>;
}

/** What the commands that work on either database reach it through. */
export interface CliStore {
  store: Store;
  report(period: { from: number; to: number }): Promise<EndOfDayReport>;
}

interface GlobalOptions {
  config?: string;
  json?: boolean;
}

function createContext(io: CliIo, globals: GlobalOptions): CliContext & { close(): Promise<void> } {
  const cleanups: Array<() => void | Promise<void>> = [];
  let config: Config | null = null;
  let pgPool: PgPool | null = null;
  const ctx = {
    io,
    json: globals.json === true,
    clock: io.clock ?? Date.now,
    // The last line of defence: whatever a command prints, no control character reaches the terminal.
    out: (text: string) => void io.stdout.write(neutraliseControls(text)),
    err: (text: string) => void io.stderr.write(neutraliseControls(text)),
    configPath(): string {
      const argv = globals.config === undefined ? [] : ['--config', resolve(io.cwd, globals.config)];
      const env = { ...io.env, ...(io.env['TENDERBRIDGE_CONFIG'] ? { TENDERBRIDGE_CONFIG: resolve(io.cwd, io.env['TENDERBRIDGE_CONFIG']) } : {}) };
      return configPathFrom(argv, env, io.appRoot ?? PACKAGE_ROOT);
    },
    config(): Config {
      config ??= loadConfigFile(ctx.configPath(), io.env);
      return config;
    },
    dbPath(): string {
      const path = sqlitePath(ctx.config().database, 'this command');
      return path === ':memory:' ? path : resolve(io.cwd, path);
    },
    openDb(options: { readonly?: boolean } = {}): Db {
      const path = ctx.dbPath();
      if (path !== ':memory:' && !existsSync(path)) {
        throw new CliError(`database ${path} does not exist: start the daemon once, or run \`tenderbridge db migrate\` to create it`);
      }
      const db = openDatabase(path, { readonly: options.readonly ?? false });
      cleanups.push(() => {
        db.close();
      });
      const version = schemaVersion(db);
      if (version < LATEST_VERSION) throw new CliError(`database ${path} is at schema version ${version}, this build needs ${LATEST_VERSION}: run \`tenderbridge db migrate\` (or restart the daemon)`);
      assertNotNewer(db, LATEST_VERSION, io.build?.version);
      return db;
    },
    async openStore(options: { readonly?: boolean; wrap?: (r: Repos) => Repos } = {}): Promise<CliStore> {
      const database = ctx.config().database;
      const wrap = options.wrap ? { wrap: options.wrap } : {};
      if (database.kind === 'sqlite') {
        const db = ctx.openDb(options);
        return {
          store: sqliteStore(immediateCommit(db), { payments: createPaymentRepository(db), outbox: createOutboxRepository(db), electrum: createElectrumRepository(db) }, wrap),
          report: async (period) => endOfDayReport(db, period),
        };
      }
      const pool = await ctx.postgresPool();
      return { store: postgresStore(pool, wrap), report: (period) => pgEndOfDayReport(pool, period) };
    },
    async postgresPool(): Promise<PgPool> {
      const database = ctx.config().database;
      if (database.kind !== 'postgres') throw new Error('the database is not PostgreSQL');
      if (pgPool) return pgPool;
      const pool = createPostgresPool(database);
      cleanups.push(() => pool.end());
      const where = `PostgreSQL at ${redactDatabaseUrl(database.url)}`;
      const version = await postgresSchemaVersion(pool).catch((error: unknown) => {
        throw new CliError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      });
      if (version < POSTGRES_LATEST_VERSION) throw new CliError(`${where} is at schema version ${version}, this build needs ${POSTGRES_LATEST_VERSION}: run \`tenderbridge db migrate\``);
      pgPool = pool;
      return pool;
    },
    async openRegistry(options: { readonly?: boolean } = {}): Promise<CliRegistry> {
      const config = ctx.config();
      if (config.database.kind === 'sqlite') {
        const registry = createRegistry(ctx.openDb(options), config);
        return {
          terminal: (id) => registry.terminal(id),
          terminals: () => registry.terminals(),
          upsertTerminal: async (t, at) => registry.upsertTerminal(t, at),
          setDisabled: async (id, disabled, at) => registry.setDisabled(id, disabled, at),
          remove: async (id) => registry.remove(id),
        };
      }
      const pool = await ctx.postgresPool();
      const registry = await createPostgresRegistry(pool, config);
      return { terminal: (id) => registry.view.terminal(id), terminals: () => registry.view.terminals(), upsertTerminal: registry.upsertTerminal, setDisabled: registry.setDisabled, remove: registry.remove };
    },
    defer(cleanup: () => void | Promise<void>): void {
      cleanups.push(cleanup);
    },
    async close(): Promise<void> {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch {
          // closing is best effort; the command's own outcome is what matters
        }
      }
    },
  };
  return ctx;
}

/** Maps any failure to its message on stderr and its exit code. */
function report(ctx: CliContext, error: unknown): number {
  if (error instanceof ConfigError) {
    ctx.err(`${error.message}\n`);
    return EXIT.config;
  }
  if (error instanceof CliError) {
    ctx.err(`error: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof DatabaseError || isAppError(error)) {
    ctx.err(`error: ${error.message}\n`);
    return EXIT.failure;
  }
  ctx.err(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.failure;
}

/** Raised through commander to carry a command's non-zero exit code out of `parseAsync`. */
export const EXIT_SIGNAL = 'tenderbridge.exit';

/**
 * Wraps a command body: builds its context, turns errors into messages and exit codes, and
 * closes what it opened. A non-zero code leaves commander as a {@link CommanderError}, so no
 * command ever calls `process.exit`.
 */
export function action<A extends unknown[]>(io: CliIo, body: (ctx: CliContext, ...args: A) => Promise<number> | number) {
  return async function (this: Command, ...args: unknown[]): Promise<void> {
    const command = args[args.length - 1] as Command;
    const ctx = createContext(io, command.optsWithGlobals<GlobalOptions>());
    let code: number;
    try {
      code = await body(ctx, ...(args.slice(0, -1) as A));
    } catch (error) {
      code = report(ctx, error);
    } finally {
      await ctx.close();
    }
    if (code !== EXIT.ok) throw new CommanderError(code, EXIT_SIGNAL, '');
  };
}
