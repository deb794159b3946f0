import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pendingMigrations, startupAllowanceMs } from '../../src/ops/startup-time.js';
import { MIGRATIONS } from '../../src/shared/db/migrations.js';
import { migrate, openDatabase } from '../../src/shared/db/open.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tb-startup-time-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('start-up time asked of systemd for a big database', () => {
  it('asks nothing for a small file or none', () => {
    const path = join(dir, 'small.db');
    expect(startupAllowanceMs(path, { migrating: false, checking: true })).toBe(0);
    writeFileSync(path, Buffer.alloc(1024 * 1024));
    expect(startupAllowanceMs(path, { migrating: true, checking: true })).toBe(0);
  });

  it('asks a minute plus one read of the file (WAL included) at 20 MB/s to check it, two more to migrate it, none to serve it at once', () => {
    const path = join(dir, 'big.db');
    writeFileSync(path, '');
    truncateSync(path, 300_000_000); // sparse: no disk used
    writeFileSync(`${path}-wal`, '');
    truncateSync(`${path}-wal`, 100_000_000);
    expect(startupAllowanceMs(path, { migrating: false, checking: true })).toBe(60_000 + 20_000);
    expect(startupAllowanceMs(path, { migrating: true, checking: true })).toBe(60_000 + 60_000);
    expect(startupAllowanceMs(path, { migrating: true, checking: false })).toBe(60_000 + 40_000);
    // A cleanly closed file is checked while the daemon serves: nothing reads it all before.
    expect(startupAllowanceMs(path, { migrating: false, checking: false })).toBe(0);
  });

  it('knows whether start-up will migrate the file', () => {
    const path = join(dir, 'old.db');
    expect(pendingMigrations(path)).toBe(false);
    const db = openDatabase(path);
    migrate(db, MIGRATIONS.slice(0, 1));
    db.close();
    expect(pendingMigrations(path)).toBe(true);
    const again = openDatabase(path);
    migrate(again);
    again.close();
    expect(pendingMigrations(path)).toBe(false);
  });
});
