import { immediateCommit } from '../shared/db/group-commit.js';
import { timingSafeEqual } from 'node:crypto';
import type { Merchant, TerminalSeed } from '../shared/config/load.js';
import { hashApiKey } from '../shared/config/load.js';
import type { Db } from '../shared/db/open.js';
import type { DisplayProfile } from '../qr/display-profile.js';

/** A store, as configured. */
export interface Store {
  id: string;
  name: string;
  merchantId: string;
}

/** A terminal with everything needed to serve it. */
export interface Terminal {
  id: string;
  storeId: string;
  merchantId: string;
  displayProfile: DisplayProfile;
  source: 'config' | 'cli';
  disabled: boolean;
}

/** A cached terminal is shared by every request that presents its key: nobody may change it. */
const freeze = (t: Terminal): Terminal => Object.freeze({ ...t, displayProfile: Object.freeze({ ...t.displayProfile }) });

type Row = { id: string; store_id: string; api_key_hash: string; display_profile: string; source: 'config' | 'cli'; disabled: number };

/**
 * The registry of merchants, stores and terminals: the "store of merchant ids" PartPay asks
 * the middleware to keep. Merchants and stores come from config (they carry secrets and
 * change with onboarding); terminals live in SQLite so the CLI can add them and rotate
 * their keys, and config-declared terminals are synchronised into it at start-up.
 */
export function createRegistry(db: Db, config: { merchants: Merchant[]; stores: Array<{ id: string; name: string; merchant: string }> }) {
  const merchants = new Map(config.merchants.map((m) => [m.id, m]));
  const stores = new Map<string, Store>(config.stores.map((s) => [s.id, { id: s.id, name: s.name, merchantId: s.merchant }]));
  const s = {
    byHash: db.prepare('SELECT * FROM terminals WHERE api_key_hash = ?'),
    byId: db.prepare('SELECT * FROM terminals WHERE id = ?'),
    all: db.prepare('SELECT * FROM terminals ORDER BY id'),
    setDisabled: db.prepare('UPDATE terminals SET disabled = ?, updated_at = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM terminals WHERE id = ?'),
    // Bumped by SQLite whenever another connection (the CLI) commits to the database file.
    dataVersion: db.prepare('PRAGMA data_version').pluck(),
    upsert: db.prepare(`INSERT INTO terminals (id, store_id, api_key_hash, display_profile, source, created_at, updated_at)
      VALUES (@id, @storeId, @apiKeyHash, @displayProfile, @source, @at, @at)
      ON CONFLICT (id) DO UPDATE SET store_id = excluded.store_id, api_key_hash = excluded.api_key_hash,
        display_profile = excluded.display_profile, source = excluded.source, updated_at = excluded.updated_at`),
  };

  const toTerminal = (r: Row): Terminal | null => {
    const store = stores.get(r.store_id);
    if (!store) return null;
    return {
      id: r.id,
      storeId: r.store_id,
      merchantId: store.merchantId,
      displayProfile: JSON.parse(r.display_profile) as DisplayProfile,
      source: r.source,
      disabled: r.disabled === 1,
    };
  };

  /**
   * Terminals found by key hash, so a request does not read and parse the row again. Only keys
   * that work are kept (a stream of wrong keys does not grow it). Dropped whole when another
   * connection commits anything (the CLI rotating, disabling or removing a key: `data_version`
   * moves) and on this registry's own terminal writes, so a changed key is refused on the next request.
   */
  const byKeyHash = new Map<string, { row: Row; terminal: Terminal }>();
  let seenVersion = -1;
  const forgetKeys = (): void => byKeyHash.clear();
  const freshKeys = (): Map<string, { row: Row; terminal: Terminal }> => {
    const version = s.dataVersion.get() as number;
    if (version !== seenVersion) {
      byKeyHash.clear();
      seenVersion = version;
    }
    return byKeyHash;
  };

  return {
    merchant(id: string): Merchant | undefined {
      return merchants.get(id);
    },
    merchants(): Merchant[] {
      return [...merchants.values()];
    },
    store(id: string): Store | undefined {
      return stores.get(id);
    },
    stores(): Store[] {
      return [...stores.values()];
    },
    terminal(id: string): Terminal | null {
      const r = s.byId.get(id) as Row | undefined;
      return r ? toTerminal(r) : null;
    },
    terminals(): Terminal[] {
      return (s.all.all() as Row[]).map(toTerminal).filter((t): t is Terminal => t !== null);
    },
    /**
     * Finds the terminal a bearer key belongs to. Keys are stored only as SHA-256 hashes;
     * the final comparison is constant-time. A key that worked is remembered by its hash until
     * the terminals may have changed (see `freshKeys`).
     */
    authenticate(apiKey: string): Terminal | null {
      const hash = hashApiKey(apiKey);
      const keys = freshKeys();
      const known = keys.get(hash);
      const r = known?.row ?? (s.byHash.get(hash) as Row | undefined);
      if (!r || r.disabled === 1) return null;
      const a = Buffer.from(r.api_key_hash);
      const b = Buffer.from(hash);
      if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
      if (known) return known.terminal;
      const found = toTerminal(r);
      if (!found) return null;
      const terminal = freeze(found);
      keys.set(hash, { row: r, terminal });
      return terminal;
    },
    /** Writes config-declared terminals into the database (config wins for the ids it names). */
    syncFromConfig(seeds: readonly TerminalSeed[], at: number): void {
      forgetKeys();
      immediateCommit(db).transaction(() => {
        for (const t of seeds) {
          s.upsert.run({ id: t.id, storeId: t.storeId, apiKeyHash: t.apiKeyHash, displayProfile: JSON.stringify(t.displayProfile), source: 'config', at });
        }
      });
    },
    /**
     * Disables or re-enables a terminal. {@link authenticate} forgets what it knew of keys on any
     * commit by another connection, so a running daemon refuses a disabled terminal's key from
     * its next request on. Config sync leaves the flag alone: a disabled config-declared terminal
     * stays disabled across restarts.
     * @returns false when there is no such terminal.
     */
    setDisabled(id: string, disabled: boolean, at: number): boolean {
      forgetKeys();
      return s.setDisabled.run(disabled ? 1 : 0, at, id).changes === 1;
    },
    /** Deletes a terminal's row (its key with it); its payments keep its id. @returns false when there was none. */
    remove(id: string): boolean {
      forgetKeys();
      return s.remove.run(id).changes === 1;
    },
    /** Adds or re-keys a terminal (CLI). */
    upsertTerminal(t: { id: string; storeId: string; apiKeyHash: string; displayProfile: DisplayProfile }, at: number): void {
      if (!stores.has(t.storeId)) throw new Error(`no store "${t.storeId}"`);
      forgetKeys();
      s.upsert.run({ id: t.id, storeId: t.storeId, apiKeyHash: t.apiKeyHash, displayProfile: JSON.stringify(t.displayProfile), source: 'cli', at });
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;

/** What a daemon reads of the registry, on either backend: merchants and stores from config, terminals from the database. */
export type RegistryView = Pick<Registry, 'merchant' | 'merchants' | 'store' | 'stores' | 'terminal' | 'terminals' | 'authenticate'>;
