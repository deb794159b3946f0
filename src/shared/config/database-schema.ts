import { z } from 'zod';
import { secretRefSchema } from './secret.js';

/** The embedded default: one SQLite file owned by one daemon. */
const sqliteSchema = z
  .object({
    kind: z.literal('sqlite'),
    /** Path of the database file; relative paths are relative to the working directory (the systemd StateDirectory in production). */
    path: z.string().min(1).default('data/tenderbridge.db'),
  })
  .strict();

/** Connections a daemon keeps to PostgreSQL (a `pg` pool). */
const poolSchema = z
  .object({
    /** Most connections open at once; PostgreSQL's max_connections must cover every daemon's. */
    max: z.number().int().min(1).max(1000).default(10),
    /** Close a connection idle this long (ms); 0 keeps them. */
    idleTimeoutMs: z.number().int().min(0).default(30_000),
    /** Give up opening a connection after this long (ms). */
    connectionTimeoutMs: z.number().int().min(100).default(5_000),
    /** The server cancels a statement running longer than this (ms): a stuck query fails instead of holding a connection. */
    statementTimeoutMs: z.number().int().min(100).default(30_000),
  })
  .strict()
  .prefault({});

/** A PostgreSQL server shared by several daemons (see README, "Central deployment"). */
const postgresSchema = z
  .object({
    kind: z.literal('postgres'),
    /** Connection URL (postgres://user:password@host:port/database?sslmode=...); a secret, as it carries the password: {"env": "TENDERBRIDGE_DATABASE_URL"} or {"file": ...}. */
    url: secretRefSchema,
    pool: poolSchema,
  })
  .strict();

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `{"kind": "sqlite", "path": ...}` (the default; a `database` without `kind` is SQLite, as
 * every config before PostgreSQL wrote it) or `{"kind": "postgres", "url": ..., "pool": {...}}`.
 */
export const databaseSchema = z
  .preprocess(
    (value) => (isRecord(value) && !('kind' in value) ? { kind: 'sqlite', ...value } : value),
    z.discriminatedUnion('kind', [sqliteSchema, postgresSchema], {
      error: (issue) =>
        issue.code === 'invalid_union'
          ? 'must be "sqlite" (the default) or "postgres"'
          : issue.code === 'invalid_type' && issue.expected === 'object'
            ? 'must be {"kind": "sqlite", "path": ...} or {"kind": "postgres", "url": {"env": ...}}'
            : undefined,
    }),
  )
  .prefault({});

export type RawDatabaseConfig = z.infer<typeof databaseSchema>;
export type PostgresPoolConfig = z.infer<typeof poolSchema>;

/** A SQLite database, as configured. */
export type SqliteDatabaseConfig = Extract<RawDatabaseConfig, { kind: 'sqlite' }>;

/** A PostgreSQL database with its URL resolved (it holds the password: never log it; see {@link redactDatabaseUrl}). */
export interface PostgresDatabaseConfig {
  kind: 'postgres';
  url: string;
  pool: PostgresPoolConfig;
}

/** The database section of the effective config. */
export type DatabaseConfig = SqliteDatabaseConfig | PostgresDatabaseConfig;

/**
 * Why a resolved PostgreSQL URL cannot be used, or null. Never quotes the URL: it carries the password.
 * @example postgresUrlProblem('mysql://x') // 'must be a postgres:// or postgresql:// URL (...)'
 */
export function postgresUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a postgres:// or postgresql:// URL such as postgres://tenderbridge:PASSWORD@db.example:5432/tenderbridge (it is not a URL)';
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return `must be a postgres:// or postgresql:// URL (it is ${parsed.protocol}//...)`;
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) return 'names no host: postgres://user:password@HOST:5432/database';
  if (parsed.pathname.replace(/^\//, '') === '') return 'names no database: postgres://user:password@host:5432/DATABASE';
  return null;
}

/**
 * The URL as it may be shown: the password replaced by `***`.
 * @example redactDatabaseUrl('postgres://tb:s3cret@db:5432/tb') // 'postgres://tb:***@db:5432/tb'
 */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString().replace('%2A%2A%2A', '***');
  } catch {
    return '[unparseable URL]';
  }
}

/** What a command that works on a SQLite file only says when the config names PostgreSQL. */
export class UnsupportedDatabaseError extends Error {
  constructor(what: string) {
    super(`database.kind postgres: ${what} works on a SQLite file only (PostgreSQL has its own tools for it: see README, "Central deployment")`);
    this.name = 'UnsupportedDatabaseError';
  }
}

/**
 * The SQLite file of a config, for the code that runs on SQLite only; a PostgreSQL config is
 * refused with {@link UnsupportedDatabaseError} naming `what` needed the file.
 * @example const path = sqlitePath(config.database, 'the daemon');
 */
export function sqlitePath(database: DatabaseConfig, what: string): string {
  if (database.kind !== 'sqlite') throw new UnsupportedDatabaseError(what);
  return database.path;
}
