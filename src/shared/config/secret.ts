import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';

/**
 * A secret as written in the config: inline text (demo only), `{"env": "NAME"}`, or
 * `{"file": "PATH"}`. A relative file path is looked up in `$CREDENTIALS_DIRECTORY` first
 * (systemd `LoadCredential=`), then relative to the config file's folder.
 */
export const secretRefSchema = z.union(
  [
    z.string().min(1, 'must not be empty'),
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }).strict(),
    z.object({ file: z.string().min(1, 'must be a file path') }).strict(),
  ],
  { error: 'must be a string, {"env": "NAME"} or {"file": "PATH"}' },
);
export type SecretRef = z.infer<typeof secretRefSchema>;

/** Where secrets are resolved from; injected so that tests and the CLI stay pure. */
export interface SecretContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Folder of the config file, for relative `file` secrets. */
  configDir: string;
}

/**
 * Resolves a secret reference to its value, or throws an Error whose message says what is
 * missing (the caller prefixes the config key).
 */
export function resolveSecret(ref: SecretRef, ctx: SecretContext): string {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = ctx.env[ref.env];
    if (value === undefined || value === '') throw new Error(`environment variable ${ref.env} is not set`);
    return value;
  }
  const candidates: string[] = [];
  if (isAbsolute(ref.file)) candidates.push(ref.file);
  else {
    const credDir = ctx.env['CREDENTIALS_DIRECTORY'];
    if (credDir) candidates.push(join(credDir, ref.file));
    candidates.push(join(ctx.configDir, ref.file));
  }
  for (const path of candidates) {
    try {
      // Credential files conventionally end with a newline that is not part of the secret.
      const value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      if (value === '') throw new Error(`secret file ${path} is empty`);
      return value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`secret file not found (looked in ${candidates.join(', ')})`);
}

/** How a secret is shown when config is printed: its source, never its value. */
export function describeSecret(ref: SecretRef): string {
  if (typeof ref === 'string') return '[inline secret]';
  return 'env' in ref ? `[env ${ref.env}]` : `[file ${ref.file}]`;
}
