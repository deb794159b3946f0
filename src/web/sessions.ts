import { createHash, randomBytes } from 'node:crypto';

/** One signed-in operator. */
export interface ConsoleSession {
  operator: string;
  /** Sent back by the console's scripts in `X-CSRF-Token` on every POST. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

/** How long sessions live (config `ops.console`). */
export interface SessionLimits {
  idleTimeoutMs: number;
  maxSessionMs: number;
  /** Sessions kept at most; the least recently used goes first beyond it. */
  maxSessions?: number;
}

/** Sessions are found by a hash of their id: the ids themselves are never kept. */
const key = (id: string) => createHash('sha256').update(id, 'utf8').digest('base64url');
const token = () => randomBytes(32).toString('base64url');

/**
 * Console sessions in memory: random 256-bit ids from the system CSPRNG, idle and absolute
 * expiry, explicit sign-out. A daemon restart forgets them all (operators sign in again).
 * @example
 * const sessions = createSessionStore({ idleTimeoutMs: 1_800_000, maxSessionMs: 43_200_000 }, Date.now);
 * const { id } = sessions.create('olive'); // the cookie value
 * sessions.use(id)?.operator; // 'olive', and the idle clock restarts
 */
export function createSessionStore(limits: SessionLimits, clock: () => number) {
  const sessions = new Map<string, ConsoleSession>();
  const maxSessions = limits.maxSessions ?? 10_000;

  const expired = (s: ConsoleSession, now: number) => now - s.lastSeenAt >= limits.idleTimeoutMs || now - s.createdAt >= limits.maxSessionMs;

  function sweep(now: number): void {
    for (const [k, s] of sessions) if (expired(s, now)) sessions.delete(k);
    // Map order is insertion order and use() re-inserts: the first entries are the least recently used.
    while (sessions.size >= maxSessions) sessions.delete(sessions.keys().next().value as string);
  }

  function find(id: string | undefined, touch: boolean): ConsoleSession | null {
    if (!id) return null;
    const k = key(id);
    const s = sessions.get(k);
    if (!s) return null;
    const now = clock();
    if (expired(s, now)) {
      sessions.delete(k);
      return null;
    }
    if (touch) {
      s.lastSeenAt = now;
      sessions.delete(k);
      sessions.set(k, s);
    }
    return s;
  }

  return {
    /** Signs `operator` in; the id goes into the cookie and nowhere else. */
    create(operator: string): { id: string; session: ConsoleSession } {
      const now = clock();
      sweep(now);
      const id = token();
      const session = { operator, csrfToken: token(), createdAt: now, lastSeenAt: now };
      sessions.set(key(id), session);
      return { id, session };
    },
    /** The live session of `id` (restarting its idle clock), or null when unknown, signed out or expired. */
    use: (id: string | undefined) => find(id, true),
    /** Like {@link use} but not counted as the operator's activity (background refreshes, the event stream). */
    peek: (id: string | undefined) => find(id, false),
    /** Signs the session out; true when there was one. */
    destroy(id: string | undefined): boolean {
      return id ? sessions.delete(key(id)) : false;
    },
    /** Live sessions (for tests and metrics). */
    size(): number {
      sweep(clock());
      return sessions.size;
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
