import type { Db } from '../../src/shared/db/open.js';
import type { Queryable } from '../../src/shared/db/postgres/pool.js';

/**
 * A database's schema reduced to what both backends can say about it, so SQLite's and
 * PostgreSQL's can be compared with one `toEqual`: tables with their columns (type, NULL,
 * default, identity), primary and unique keys, foreign keys, the number of CHECK constraints,
 * secondary indexes (name, columns, unique, partial) and triggers.
 */
export interface TableShape {
  columns: Array<{ name: string; type: string; nullable: boolean; default: string | null; identity: boolean }>;
  primaryKey: string[];
  unique: string[];
  foreignKeys: string[];
  checks: number;
  indexes: string[];
  triggers: string[];
}

export type SchemaShape = Record<string, TableShape>;

const SQLITE_TYPES: Record<string, string> = { TEXT: 'text', INTEGER: 'bigint' };

/** The shape of a SQLite database (after `migrate`). */
export function sqliteShape(db: Db): SchemaShape {
  const tables = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string; sql: string }>;
  const shape: SchemaShape = {};
  for (const { name, sql } of tables) {
    const info = db.prepare(`SELECT * FROM pragma_table_info(?)`).all(name) as Array<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>;
    const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    // INTEGER PRIMARY KEY AUTOINCREMENT numbers rows itself, never reusing a number: an identity column.
    const rowidAlias = pk.length === 1 && pk[0]?.type === 'INTEGER' && /\bAUTOINCREMENT\b/i.test(sql) ? pk[0].name : null;
    const indexes = db.prepare('SELECT * FROM pragma_index_list(?)').all(name) as Array<{ name: string; unique: number; origin: string; partial: number }>;
    const columnsOf = (index: string) => (db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(index) as Array<{ name: string }>).map((c) => c.name).join(', ');
    const fks = db.prepare('SELECT * FROM pragma_foreign_key_list(?)').all(name) as Array<{ table: string; from: string; to: string }>;
    const triggers = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?").all(name) as Array<{ name: string }>;
    shape[name] = {
      columns: info.map((c) => ({
        name: c.name,
        type: SQLITE_TYPES[c.type] ?? `sqlite ${c.type}`,
        nullable: c.notnull === 0 && c.pk === 0,
        default: c.dflt_value,
        identity: c.name === rowidAlias,
      })),
      primaryKey: pk.map((c) => c.name),
      unique: indexes.filter((i) => i.origin === 'u').map((i) => columnsOf(i.name)).sort(),
      foreignKeys: fks.map((f) => `${f.from} -> ${f.table} (${f.to})`).sort(),
      checks: (sql.match(/\bCHECK\s*\(/gi) ?? []).length,
      indexes: indexes
        .filter((i) => i.origin === 'c')
        .map((i) => `${i.name} (${columnsOf(i.name)})${i.unique ? ' unique' : ''}${i.partial ? ' partial' : ''}`)
        .sort(),
      triggers: triggers.map((t) => t.name).sort(),
    };
  }
  return shape;
}

/** The shape of a PostgreSQL database's current schema. */
export async function postgresShape(db: Queryable): Promise<SchemaShape> {
  const columns = await db.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(
    'SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position',
  );
  const indexes = await db.query<{ table: string; name: string; unique: boolean; primary: boolean; partial: boolean; constraint: string | null; columns: string[] }>(`
    SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary, ix.indpred IS NOT NULL AS partial,
      (SELECT contype::text FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.conrelid = ix.indrelid) AS constraint,
      array(SELECT pg_get_indexdef(ix.indexrelid, k, true) FROM generate_series(1, ix.indnatts) AS k ORDER BY k) AS columns
    FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema()`);
  const constraints = await db.query<{ table: string; type: string; columns: string[]; target: string | null; target_columns: string[] | null }>(`
    SELECT t.relname AS table, c.contype::text AS type,
      array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS columns,
      f.relname AS target,
      array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(n, o) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS target_columns
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace LEFT JOIN pg_class f ON f.oid = c.confrelid
    WHERE n.nspname = current_schema()`);
  const triggers = await db.query<{ table: string; name: string }>(
    'SELECT c.relname AS table, tg.tgname AS name FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT tg.tgisinternal AND n.nspname = current_schema()',
  );
  const shape: SchemaShape = {};
  for (const c of columns.rows) {
    shape[c.table_name] ??= { columns: [], primaryKey: [], unique: [], foreignKeys: [], checks: 0, indexes: [], triggers: [] };
    shape[c.table_name]?.columns.push({
      name: c.column_name,
      type: c.data_type,
      nullable: c.is_nullable === 'YES',
      default: c.column_default === null ? null : c.column_default.replace(/::[a-z ]+$/, ''),
      identity: c.is_identity === 'YES',
    });
  }
  const table = (name: string): TableShape => {
    const found = shape[name];
    if (!found) throw new Error(`no table ${name}`);
    return found;
  };
  for (const c of constraints.rows) {
    if (c.type === 'p') table(c.table).primaryKey = c.columns;
    if (c.type === 'u') table(c.table).unique.push(c.columns.join(', '));
    if (c.type === 'f') table(c.table).foreignKeys.push(`${c.columns.join(', ')} -> ${c.target} (${(c.target_columns ?? []).join(', ')})`);
    if (c.type === 'c') table(c.table).checks += 1;
  }
  for (const i of indexes.rows) {
    if (i.constraint !== null) continue; // the index behind a PRIMARY KEY or UNIQUE constraint, counted above
    table(i.table).indexes.push(`${i.name} (${i.columns.join(', ')})${i.unique ? ' unique' : ''}${i.partial ? ' partial' : ''}`);
  }
  for (const t of triggers.rows) table(t.table).triggers.push(t.name);
  for (const t of Object.values(shape)) {
    t.unique.sort();
    t.foreignKeys.sort();
    t.indexes.sort();
    t.triggers.sort();
  }
  return shape;
}
