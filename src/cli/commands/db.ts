import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { integrityProblems, LATEST_VERSION, migrate, openDatabase, schemaVersion } from '../../shared/db/open.js';
import { createPrivateFile } from '../../shared/db/private-files.js';
import { action } from '../context.js';
import { CliError, EXIT, type CliIo } from '../io.js';
import { renderJson } from '../output.js';

/** `tenderbridge db migrate|backup`. */
export function registerDbCommands(program: Command, io: CliIo): void {
  const db = program.command('db').description('database maintenance');

  db.command('migrate')
    .description('create the database if needed and apply pending migrations (the daemon also does this at start)')
    .addHelpText('after', '\nExamples:\n  $ tenderbridge db migrate --config /etc/tenderbridge/config.json')
    .action(
      action(io, (ctx) => {
        const path = ctx.dbPath();
        const handle = openDatabase(path);
        ctx.defer(() => {
          handle.close();
        });
        const problems = integrityProblems(handle);
        if (problems.length > 0) throw new CliError(`database ${path} failed its integrity check (${problems.slice(0, 3).join('; ')}): restore the latest backup`);
        const from = schemaVersion(handle);
        const applied = migrate(handle);
        if (ctx.json) ctx.out(renderJson({ database: path, from, applied, version: schemaVersion(handle) }));
        else if (applied.length === 0) ctx.out(`database ${path} is up to date (schema version ${from})\n`);
        else ctx.out(`database ${path}: applied migration(s) ${applied.join(', ')}; now at schema version ${schemaVersion(handle)}\n`);
        return EXIT.ok;
      }),
    );

  db.command('backup')
    .description('online backup of the live database to FILE, then an integrity check of the copy')
    .argument('<file>', 'where to write the copy (refused if it exists, unless --force)')
    .option('--force', 'overwrite an existing file')
    .addHelpText('after', '\nSafe while the daemon runs. The copy is a single self-contained file (no -wal).\n\nExamples:\n  $ tenderbridge db backup /var/backups/tenderbridge-$(date +%F).db\n  $ tenderbridge db backup /mnt/usb/tenderbridge.db --force')
    .action(
      action(io, async (ctx, file: string, opts: { force?: boolean }) => {
        const target = resolve(ctx.io.cwd, file);
        if (existsSync(target) && !opts.force) throw new CliError(`${target} exists: choose another name or add --force to overwrite it`);
        const source = ctx.openDb({ readonly: true });
        if (resolve(source.name) === target) throw new CliError('the backup cannot overwrite the live database');
        // Write beside the target and rename, so a failed backup never replaces a good one.
        const partial = `${target}.partial-${process.pid}`;
        rmSync(partial, { force: true });
        try {
          // The copy holds what the database holds: owner-only from its first byte (SQLite would use the umask).
          createPrivateFile(partial);
          await source.backup(partial);
          const copy = new Database(partial);
          let version: number;
          try {
            const problems = (copy.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).filter((r) => r !== 'ok');
            if (problems.length > 0) throw new CliError(`the copy failed its integrity check (${problems.slice(0, 3).join('; ')}); nothing was written to ${target}`);
            version = schemaVersion(copy);
            copy.pragma('journal_mode = DELETE');
          } finally {
            copy.close();
          }
          // A stale -wal beside an overwritten copy would be replayed into it on the next open.
          for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${target}${suffix}`, { force: true });
          chmodSync(partial, 0o600);
          renameSync(partial, target);
          const size = statSync(target).size;
          if (ctx.json) ctx.out(renderJson({ file: target, bytes: size, schemaVersion: version, integrity: 'ok' }));
          else ctx.out(`backup written to ${target} (${(size / 1024).toFixed(1)} KiB, schema version ${version}${version === LATEST_VERSION ? '' : `, this build is at ${LATEST_VERSION}`}), integrity check ok\n`);
          return EXIT.ok;
        } finally {
          for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true });
        }
      }),
    );
}
