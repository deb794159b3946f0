import { timingSafeEqual } from 'node:crypto';
import type { DisplayProfile } from '../../qr/display-profile.js';
import type { RegistryView, Store, Terminal } from '../../registry/registry.js';
import { hashApiKey, type Merchant, type TerminalSeed } from '../../shared/config/load.js';
import { inTransaction, type PgPool } from '../../shared/db/postgres/pool.js';

export type { RegistryView };

type Row = { id: string; store_id: string; api_key_hash: string; display_profile: string; source: 'config' | 'cli'; disabled: number };

/** Held by one daemon at a time while it writes the config's terminals (transaction-scoped). */
const CONFIG_SYNC_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('tenderbridge: terminals from config'))";

/**
 * The registry on PostgreSQL. Terminals are read on every request (each authenticates by key),
 * so the daemon keeps all of them in memory (a chain's 20,000 are a few MB) and reads them
 * again when the table changed: `refresh()` asks the server for the table's count and newest
 * change and reloads only when either moved. The daemon refreshes on a short interval, so a
 * terminal disabled by another daemon's config (or an operator) is refused within it.
 * @example
 * const registry = await createPostgresRegistry(pool, config);
 * await registry.syncFromConfig(config.terminals, Date.now());
 * registry.view.authenticate(key);
 */
export async function createPostgresRegistry(pool: PgPool, config: { merchants: Merchant[]; stores: Array<{ id: string; name: string; merchant: string }> }) {
  const merchants = new Map(config.merchants.map((m) => [m.id, m]));
  const stores = new Map<string, Store>(config.stores.map((s) => [s.id, { id: s.id, name: s.name, merchantId: s.merchant }]));
  let byId = new Map<string, { row: Row; terminal: Terminal }>();
  let byHash = new Map<string, { row: Row; terminal: Terminal }>();
  let mark = '';

  const toTerminal = (r: Row): Terminal | null => {
    const store = stores.get(r.store_id);
    if (!store) return null;
    const profile = JSON.parse(r.display_profile) as DisplayProfile;
    return Object.freeze({ id: r.id, storeId: r.store_id, merchantId: store.merchantId, displayProfile: Object.freeze({ ...profile }), source: r.source, disabled: Number(r.disabled) === 1 });
  };

  async function refresh(): Promise<boolean> {
    const { rows: marks } = await pool.query<{ n: number; latest: number | null }>('SELECT count(*) AS n, max(updated_at) AS latest FROM terminals');
    const next = `${marks[0]?.n ?? 0}:${marks[0]?.latest ?? 0}`;
    if (next === mark) return false;
    const { rows } = await pool.query<Row>('SELECT id, store_id, api_key_hash, display_profile, source, disabled FROM terminals ORDER BY id');
    const ids = new Map<string, { row: Row; terminal: Terminal }>();
    const hashes = new Map<string, { row: Row; terminal: Terminal }>();
    for (const row of rows) {
      const terminal = toTerminal(row);
      if (!terminal) continue;
      ids.set(row.id, { row, terminal });
      hashes.set(row.api_key_hash, { row, terminal });
    }
    byId = ids;
    byHash = hashes;
    mark = next;
    return true;
  }

  const view: RegistryView = {
    merchant: (id) => merchants.get(id),
    merchants: () => [...merchants.values()],
    store: (id) => stores.get(id),
    stores: () => [...stores.values()],
    terminal: (id) => byId.get(id)?.terminal ?? null,
    terminals: () => [...byId.values()].map((t) => t.terminal),
    authenticate(apiKey: string): Terminal | null {
      const hash = hashApiKey(apiKey);
      const known = byHash.get(hash);
      if (!known || known.terminal.disabled) return null;
      const a = Buffer.from(known.row.api_key_hash);
      const b = Buffer.from(hash);
      return a.length === b.length && timingSafeEqual(a, b) ? known.terminal : null;
    },
  };

  await refresh();
  return {
    view,
    refresh,
    /**
     * Writes config-declared terminals into the database (config wins for the ids it names; a
     * disabled one stays disabled), then reads the table. Daemons starting together take turns
     * (an advisory lock): `ON CONFLICT (id)` settles a race on the id only, and two inserts of
     * the same terminal at once collided on its key's unique hash instead.
     */
    async syncFromConfig(seeds: readonly TerminalSeed[], at: number): Promise<void> {
      await inTransaction(pool, async (client) => {
        await client.query(CONFIG_SYNC_LOCK_SQL);
        for (const t of seeds) {
          await client.query(
            `INSERT INTO terminals (id, store_id, api_key_hash, display_profile, source, created_at, updated_at) VALUES ($1, $2, $3, $4, 'config', $5, $5)
             ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id, api_key_hash = excluded.api_key_hash, display_profile = excluded.display_profile,
               source = excluded.source, updated_at = excluded.updated_at
             WHERE (terminals.store_id, terminals.api_key_hash, terminals.display_profile, terminals.source) IS DISTINCT FROM (excluded.store_id, excluded.api_key_hash, excluded.display_profile, excluded.source)`,
            [t.id, t.storeId, t.apiKeyHash, JSON.stringify(t.displayProfile), at],
          );
        }
      });
      await refresh();
    },
    /** Adds or re-keys a terminal (CLI). */
    async upsertTerminal(t: { id: string; storeId: string; apiKeyHash: string; displayProfile: DisplayProfile }, at: number): Promise<void> {
      if (!stores.has(t.storeId)) throw new Error(`no store "${t.storeId}"`);
      await pool.query(
        `INSERT INTO terminals (id, store_id, api_key_hash, display_profile, source, created_at, updated_at) VALUES ($1, $2, $3, $4, 'cli', $5, $5)
         ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id, api_key_hash = excluded.api_key_hash, display_profile = excluded.display_profile, source = excluded.source, updated_at = excluded.updated_at`,
        [t.id, t.storeId, t.apiKeyHash, JSON.stringify(t.displayProfile), at],
      );
      await refresh();
    },
    /** Disables or re-enables a terminal; every daemon refuses (or accepts) its key from its next refresh on. @returns false when there is no such terminal. */
    async setDisabled(id: string, disabled: boolean, at: number): Promise<boolean> {
      const changed = (await pool.query('UPDATE terminals SET disabled = $1, updated_at = $2 WHERE id = $3', [disabled ? 1 : 0, at, id])).rowCount === 1;
      await refresh();
      return changed;
    },
    /** Deletes a terminal's row (its key with it); its payments keep its id. @returns false when there was none. */
    async remove(id: string): Promise<boolean> {
      const removed = (await pool.query('DELETE FROM terminals WHERE id = $1', [id])).rowCount === 1;
      await refresh();
      return removed;
    },
  };
}

export type PostgresRegistry = Awaited<ReturnType<typeof createPostgresRegistry>>;
