import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DisplayProfile } from '../../src/qr/display-profile.js';
import { hashApiKey, type Merchant } from '../../src/shared/config/load.js';
import { migratePostgres } from '../../src/shared/db/postgres/migrate.js';
import { createPostgresPool, type PgPool } from '../../src/shared/db/postgres/pool.js';
import { createPostgresRegistry } from '../../src/storage/postgres/registry.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The registry on PostgreSQL against a real server: config terminals written once for the
// fleet, keys checked from memory, and a change made elsewhere seen by every daemon's refresh.

const profile = { format: 'png', size: 300, margin: 2, dark: '#000000', light: '#ffffff' } as unknown as DisplayProfile;
const merchants = [{ id: 'm1', currency: 'NZD' }] as unknown as Merchant[];
const stores = [{ id: 'S1', name: 'Queen St', merchant: 'm1' }];
const seed = (id: string, key: string, storeId = 'S1') => ({ id, storeId, apiKeyHash: hashApiKey(key), displayProfile: profile });

describeWhenAvailable('the registry on PostgreSQL', [tools.postgres()], () => {
  let server: TestPostgres;
  const pools: PgPool[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const pool of pools) await pool.end();
    await server?.stop();
  });
  const pool = (url: string) => {
    const p = createPostgresPool({ kind: 'postgres', url, pool: { max: 2, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
    pools.push(p);
    return p;
  };

  it('authenticates a config terminal on every daemon, and refuses it on each once it is disabled elsewhere', async () => {
    const url = await server.createDatabase();
    const [poolA, poolB] = [pool(url), pool(url)];
    await migratePostgres(poolA, { appVersion: 'test' });
    const a = await createPostgresRegistry(poolA, { merchants, stores });
    const b = await createPostgresRegistry(poolB, { merchants, stores });
    await a.syncFromConfig([seed('T1', 'key-one-of-sixteen'), seed('T9', 'key-nine-of-sixteen', 'GONE')], 1_000);
    expect(await b.refresh()).toBe(true);
    expect(b.view.authenticate('key-one-of-sixteen')?.id).toBe('T1');
    expect(b.view.authenticate('key-one-of-sixteen-x')).toBeNull();
    expect(b.view.terminal('T1')).toMatchObject({ id: 'T1', storeId: 'S1', merchantId: 'm1', disabled: false });
    // A terminal of a store the config does not name is not served.
    expect(b.view.terminal('T9')).toBeNull();
    expect(b.view.terminals().map((t) => t.id)).toEqual(['T1']);
    expect(await b.refresh()).toBe(false); // nothing changed: nothing reloaded
    await poolA.query('UPDATE terminals SET disabled = 1, updated_at = 2000 WHERE id = $1', ['T1']);
    expect(b.view.authenticate('key-one-of-sixteen')?.id).toBe('T1'); // until the next refresh
    expect(await b.refresh()).toBe(true);
    expect(b.view.authenticate('key-one-of-sixteen')).toBeNull();
    // A restart (config sync) keeps it disabled.
    await b.syncFromConfig([seed('T1', 'key-one-of-sixteen')], 3_000);
    expect(b.view.terminal('T1')?.disabled).toBe(true);
  });

  it('sees a re-keyed terminal: the old key is refused, the new one accepted', async () => {
    const url = await server.createDatabase();
    const p = pool(url);
    await migratePostgres(p, { appVersion: 'test' });
    const registry = await createPostgresRegistry(p, { merchants, stores });
    await registry.syncFromConfig([seed('T1', 'old-key-of-sixteen')], 1_000);
    await registry.syncFromConfig([seed('T1', 'new-key-of-sixteen')], 2_000);
    expect(registry.view.authenticate('old-key-of-sixteen')).toBeNull();
    expect(registry.view.authenticate('new-key-of-sixteen')?.id).toBe('T1');
  });
  it('writes the config terminals once when several daemons start at the same moment (no duplicate-key failure at start-up)', async () => {
    const seeds = Array.from({ length: 40 }, (_, i) => seed(`T${i}`, `start-up-key-number-${i}`));
    for (let round = 0; round < 6; round++) {
      const url = await server.createDatabase();
      const pools = [pool(url), pool(url), pool(url), pool(url)];
      await migratePostgres(pools[0]!, { appVersion: 'test' });
      const registries = await Promise.all(pools.map((p) => createPostgresRegistry(p, { merchants, stores })));
      await Promise.all(registries.map((r) => r.syncFromConfig(seeds, 1_000)));
      for (const r of registries) expect(r.view.terminals().map((t) => t.id).sort()).toEqual(seeds.map((t) => t.id).sort());
      expect((await pools[0]!.query<{ n: number }>('SELECT count(*) AS n FROM terminals')).rows[0]?.n).toBe(40);
    }
  });
});
