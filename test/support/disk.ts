import type { Db } from '../../src/shared/db/open.js';

/**
 * Fills the daemon's database as a full disk would: no page can be added, and the journal's
 * last page is used up, so the next journal write fails with SQLITE_FULL (the daemon writes
 * its journal with every change). Returns the function that frees the space again.
 */
export function fillDisk(db: Db): () => void {
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const fill = db.prepare("INSERT INTO payment_events (payment_id, at, kind, actor, detail) VALUES (NULL, 0, 'filler', 'test', printf('%.*c', ?, 'x'))");
  for (const size of [2000, 200, 20, 1]) {
    try {
      for (;;) fill.run(size);
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_FULL') throw error;
    }
  }
  return () => {
    db.pragma('max_page_count = 1073741823');
    db.prepare("DELETE FROM payment_events WHERE kind = 'filler'").run();
  };
}
