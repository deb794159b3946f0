import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** The files SQLite keeps for a database in WAL mode. */
export const databaseFiles = (path: string): string[] => [path, `${path}-wal`, `${path}-shm`, `${path}-journal`];

/**
 * Creates `path` (and its folder, 0700) readable by its owner only, whatever the umask: the
 * database holds key hashes, partner payment tokens and raw callbacks. SQLite creates the WAL,
 * SHM and journal files with the database file's permissions, so they follow. An existing file
 * is left as it is (see {@link tightenToOwner}).
 * @example createPrivateFile('/var/lib/tenderbridge/tenderbridge.db')
 */
export function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
}

/**
 * Removes group and other permissions from those of `paths` that exist and belong to this
 * process's user (files an earlier version, or another umask, left readable by all). Files of
 * another user are left alone: only their owner (or root) could change them.
 */
export function tightenToOwner(paths: readonly string[]): void {
  const uid = process.getuid?.();
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if ((stat.mode & 0o077) !== 0 && (uid === undefined || uid === 0 || stat.uid === uid)) chmodSync(path, stat.mode & 0o700);
  }
}
