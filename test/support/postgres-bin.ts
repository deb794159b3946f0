import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian installs the PostgreSQL server: /usr/lib/postgresql/<major>/bin, not on PATH. */
export const POSTGRES_ROOT = '/usr/lib/postgresql';

/**
 * The newest installed PostgreSQL server's bin directory (initdb and postgres both there), or null.
 * @example postgresBinDir() // '/usr/lib/postgresql/15/bin'
 */
export function postgresBinDir(root = POSTGRES_ROOT): string | null {
  let versions: string[];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    return null;
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a)).find((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')));
  return newest === undefined ? null : join(root, newest, 'bin');
}
