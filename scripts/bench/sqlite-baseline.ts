import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { monoMs } from './stats.js';

/**
 * Baseline B: the ceiling of durable writes here. Raw better-sqlite3 on a temp file with the
 * daemon's pragmas (WAL, synchronous=FULL, foreign_keys, busy_timeout), each commit one
 * UPDATE plus one journal INSERT, the shape of a state change. Also the same work grouped
 * `batch` changes per commit, to show what a group commit could reach.
 */
export function sqliteBaseline(durationMs: number, batch = 32): { commitsPerSec: number; groupedChangesPerSec: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-bench-sqlite-'));
  const db = new Database(join(dir, 'baseline.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE payments (id TEXT PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE payment_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, payment_id TEXT REFERENCES payments(id), at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT)`);
    const ids = Array.from({ length: 1000 }, (_, i) => `p-${i}`);
    const insert = db.prepare("INSERT INTO payments (id, state, version, updated_at) VALUES (?, 'created', 1, 0)");
    db.transaction(() => ids.forEach((id) => insert.run(id)))();
    const update = db.prepare('UPDATE payments SET version = version + 1, updated_at = ? WHERE id = ?');
    const journal = db.prepare("INSERT INTO payment_events (payment_id, at, kind, detail) VALUES (?, ?, 'state_changed', ?)");
    const change = (i: number) => {
      const id = ids[i % ids.length] as string;
      update.run(i, id);
      journal.run(id, i, '{"from":"created","to":"approved"}');
    };
    const one = db.transaction(change);
    const many = db.transaction((from: number) => {
      for (let k = 0; k < batch; k++) change(from + k);
    });
    const run = (step: () => number): number => {
      const until = monoMs() + durationMs;
      let done = 0;
      const t0 = monoMs();
      while (monoMs() < until) done += step();
      return (done * 1000) / (monoMs() - t0);
    };
    let i = 0;
    const commitsPerSec = run(() => {
      one(i++);
      return 1;
    });
    const groupedChangesPerSec = run(() => {
      many(i);
      i += batch;
      return batch;
    });
    return { commitsPerSec, groupedChangesPerSec };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
