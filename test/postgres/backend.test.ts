import { expect, it } from 'vitest';
import type { DisplayProfile } from '../../src/qr/display-profile.js';
import { hashApiKey, type Merchant } from '../../src/shared/config/load.js';
import { createPostgresPool } from '../../src/shared/db/postgres/pool.js';
import { POSTGRES_MIGRATIONS } from '../../src/shared/db/postgres/migrations.js';
import { createLogger } from '../../src/shared/logger.js';
import { openPostgresBackend, type PostgresBackend } from '../../src/storage/postgres/backend.js';
import { usePostgresServer } from '../support/postgres-server.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// A daemon's PostgreSQL backend opened as the daemon opens it: two daemons starting together on
// an empty database create the schema once and serve the same terminals; closing one leaves
// nothing of it on the server.

const logger = createLogger({ level: 'error', silent: true });
const profile = { format: 'png', size: 300, margin: 2, dark: '#000000', light: '#ffffff' } as unknown as DisplayProfile;
const merchants = [{ id: 'm1', currency: 'NZD' }] as unknown as Merchant[];

describeWhenAvailable("a daemon's PostgreSQL backend", [tools.postgres()], () => {
  const postgres = usePostgresServer();
  const open = (url: string) =>
    openPostgresBackend({
      database: { kind: 'postgres', url, pool: { max: 3, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } },
      merchants,
      stores: [{ id: 'S1', name: 'Queen St', merchant: 'm1' }],
      terminals: [{ id: 'T1', storeId: 'S1', apiKeyHash: hashApiKey('till-key-of-sixteen'), displayProfile: profile }],
      logger,
      clock: Date.now,
      appVersion: 'test',
    });

  it('lets two daemons start together on an empty database: one schema, the same terminals, events across, nothing left after close', async () => {
    const url = await postgres().createDatabase();
    const [a, b] = (await Promise.all([open(url), open(url)])) as [PostgresBackend, PostgresBackend];
    try {
      expect((await a.pool.query<{ n: number }>('SELECT count(*) AS n FROM schema_history')).rows[0]?.n).toBe(POSTGRES_MIGRATIONS.length);
      expect(a.registry.authenticate('till-key-of-sixteen')?.id).toBe('T1');
      expect(b.registry.authenticate('till-key-of-sixteen')?.id).toBe('T1');
      expect(await a.probe()).toEqual({ ok: true });
      await a.store.tx(async (r) => {
        await r.payments.insert({ id: 'p1', provider: 'partpay', terminalId: 'T1', storeId: 'S1', merchantId: 'm1', merchantReference: 'r', amountMinor: 100, currency: 'NZD', createdAt: 1, expiresAt: 2 });
      });
      const heard = new Promise<number>((resolve) => b.events.subscribe('p1', (p) => resolve(p.version)));
      const p = (await a.store.repos.payments.get('p1'))!;
      a.events.publish(await a.store.tx((r) => r.payments.applyPatch(p, { state: 'awaiting_customer' }, 3, null)));
      expect(await heard).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
    const admin = createPostgresPool({ kind: 'postgres', url, pool: { max: 1, idleTimeoutMs: 1_000, connectionTimeoutMs: 10_000, statementTimeoutMs: 30_000 } });
    const left = await admin.query<{ n: number }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tenderbridge%' AND pid <> pg_backend_pid()");
    await admin.end();
    expect(left.rows[0]?.n).toBe(0);
  });

  it('refuses a database written by a newer tenderbridge, and leaves no connection behind', async () => {
    const url = await postgres().createDatabase();
    const first = await open(url);
    await first.pool.query("INSERT INTO schema_history (version, app_version, applied_at) VALUES (99, '9.9.9', 1)");
    await first.close();
    await expect(open(url)).rejects.toThrow(/schema version 99, written by tenderbridge 9\.9\.9/);
  });
});
