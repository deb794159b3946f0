import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { displayProfileSchema } from '../../src/qr/display-profile.js';
import { createRegistry, type Registry } from '../../src/registry/registry.js';
import { hashApiKey, type Merchant } from '../../src/shared/config/load.js';
import { migrate, openDatabase, type Db } from '../../src/shared/db/open.js';

// The daemon remembers terminals by key hash; the CLI changes keys through its own connection.
const config = { merchants: [{ id: 'M1' } as Merchant], stores: [{ id: 'S1', name: 'Store 1', merchant: 'M1' }] };
const profile = displayProfileSchema.parse({});

let dir: string;
let daemonDb: Db;
let cliDb: Db;
let daemon: Registry;
let cli: Registry;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-registry-'));
  daemonDb = openDatabase(join(dir, 'tb.db'));
  migrate(daemonDb);
  cliDb = openDatabase(join(dir, 'tb.db'));
  daemon = createRegistry(daemonDb, config);
  cli = createRegistry(cliDb, config);
  cli.upsertTerminal({ id: 'T1', storeId: 'S1', apiKeyHash: hashApiKey('key-one'), displayProfile: profile }, 1);
});
afterEach(() => {
  daemonDb.close();
  cliDb.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('terminal keys the daemon remembers', () => {
  it('refuses a key on the very next request after the CLI rotates it from another connection, and takes the new one', () => {
    expect(daemon.authenticate('key-one')?.id).toBe('T1');
    expect(daemon.authenticate('key-one')?.id).toBe('T1');
    cli.upsertTerminal({ id: 'T1', storeId: 'S1', apiKeyHash: hashApiKey('key-two'), displayProfile: profile }, 2);
    expect(daemon.authenticate('key-one')).toBeNull();
    expect(daemon.authenticate('key-two')?.id).toBe('T1');
  });

  it('refuses a remembered key once the CLI disables or removes its terminal', () => {
    expect(daemon.authenticate('key-one')?.id).toBe('T1');
    cli.setDisabled('T1', true, 2);
    expect(daemon.authenticate('key-one')).toBeNull();
    cli.setDisabled('T1', false, 3);
    expect(daemon.authenticate('key-one')?.id).toBe('T1');
    cli.remove('T1');
    expect(daemon.authenticate('key-one')).toBeNull();
  });

  it("refuses a remembered key once the daemon's own registry disables it", () => {
    expect(daemon.authenticate('key-one')?.id).toBe('T1');
    daemon.setDisabled('T1', true, 2);
    expect(daemon.authenticate('key-one')).toBeNull();
  });

  it('hands out a terminal nobody can change for the next request', () => {
    const terminal = daemon.authenticate('key-one');
    expect(terminal && Object.isFrozen(terminal) && Object.isFrozen(terminal.displayProfile)).toBe(true);
    expect(daemon.authenticate('wrong-key')).toBeNull();
  });
});
