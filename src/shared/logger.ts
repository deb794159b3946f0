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

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout (journald captures it). */
  stream?: NodeJS.WritableStream;
  /** Silence everything (tests that assert on nothing logged use a stream instead). */
  silent?: boolean;
}

/**
 * Creates the one logger of a process: JSON lines with a timestamp, secrets redacted.
 * @example const logger = createLogger({ level: 'info' }); logger.child({ component: 'partpay' }).info('token refreshed');
 */
export function createLogger(options: LoggerOptions): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}
