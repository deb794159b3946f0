import winston from 'winston';

/** The logger interface every component receives; a winston logger satisfies it. */
export type Logger = winston.Logger;

/** Keys whose values are always replaced by `[redacted]` in log lines, at any depth. */
const SECRET_KEY = /(secret|password|passwd|authorization|cookie|signature|^token$|accesstoken|access_token|refreshtoken|refresh_token|apikey|api_key|callbackkeys?|signingkey)$/i;

const redact = winston.format((info) => redactDeep(info) as winston.Logform.TransformableInfo);

/**
 * Returns a copy of `value` with the values of secret-looking keys replaced.
 * @example redactDeep({ clientSecret: 'x', a: 1 }) // { clientSecret: '[redacted]', a: 1 }
 */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  const out: Record<string | symbol, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && typeof v !== 'boolean' && typeof v !== 'number' ? '[redacted]' : redactDeep(v, depth + 1);
  }
  // winston keeps its level/message under symbols too
  for (const sym of Object.getOwnPropertySymbols(value)) {
    out[sym] = (value as Record<symbol, unknown>)[sym];
  }
  return out;
}

/**
 * How lines are written: `json` (one JSON object a line), `journal` (the same, each line led by
 * its syslog priority `<3>`..`<7>` so journald files it under that priority), or `pretty`
 * (readable one-liners for a person at a terminal).
 */
export const LOG_FORMATS = ['json', 'journal', 'pretty'] as const;

/** winston's levels, most severe first (config `log.level`, `TENDERBRIDGE_LOG_LEVEL`). */
export const LOG_LEVELS: readonly string[] = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout (journald captures it). */
  stream?: NodeJS.WritableStream;
  /** Silence everything (tests that assert on nothing logged use a stream instead). */
  silent?: boolean;
  /** Default `json`. */
  format?: LogFormat;
}

const MESSAGE = Symbol.for('message');

/** syslog priorities (sd-daemon(3)) of winston's npm levels. */
const PRIORITY: Record<string, number> = { error: 3, warn: 4, info: 6, http: 7, verbose: 7, debug: 7, silly: 7 };

/** Leads each JSON line with its syslog priority, for journald's SyslogLevelPrefix. */
const journalPrefix = winston.format((info) => {
  const line = (info as Record<symbol, unknown>)[MESSAGE];
  (info as Record<symbol, unknown>)[MESSAGE] = `<${PRIORITY[info.level] ?? 6}>${String(line)}`;
  return info;
});

/** `12:04:05.123 WARN  partpay: token request failed clientId=demo reason="…"` */
const readable = winston.format.printf((info) => {
  const { level, message, timestamp, component, ...rest } = info as Record<string, unknown>;
  const time = typeof timestamp === 'string' ? timestamp.slice(11, 23) : '';
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${String(level).toUpperCase().padEnd(5)} ${component ? `${String(component)}: ` : ''}${String(message)}${fields ? ` ${fields}` : ''}`;
});

/**
 * Creates the one logger of a process: a timestamp, secrets redacted, in the chosen format
 * (JSON lines by default).
 * @example const logger = createLogger({ level: 'info', format: 'journal' }); logger.child({ component: 'partpay' }).info('token refreshed');
 */
export function createLogger(options: LoggerOptions): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  const format = options.format ?? 'json';
  const shape =
    format === 'pretty'
      ? winston.format.combine(redact(), winston.format.timestamp(), readable)
      : format === 'journal'
        ? winston.format.combine(redact(), winston.format.timestamp(), winston.format.json(), journalPrefix())
        : winston.format.combine(redact(), winston.format.timestamp(), winston.format.json());
  return winston.createLogger({ level: options.level, silent: options.silent ?? false, format: shape, transports: [transport] });
}

/**
 * The log format for where the output goes: `--log-format` when given, else `journal` under
 * systemd (it sets JOURNAL_STREAM), `pretty` on a terminal, `json` otherwise (a pipe, a file).
 * @throws Error for a `--log-format` that is not one of {@link LOG_FORMATS}.
 * @example logFormatFrom(['--log-format', 'json'], process.env, process.stdout.isTTY)
 */
export function logFormatFrom(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, isTty: boolean): LogFormat {
  const i = argv.findIndex((a) => a === '--log-format' || a.startsWith('--log-format='));
  if (i !== -1) {
    const arg = argv[i] ?? '';
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[i + 1] ?? '');
    if (!(LOG_FORMATS as readonly string[]).includes(value)) throw new Error(`--log-format must be one of ${LOG_FORMATS.join(', ')}, not "${value}"`);
    return value as LogFormat;
  }
  if (env['JOURNAL_STREAM']) return 'journal';
  return isTty ? 'pretty' : 'json';
}
