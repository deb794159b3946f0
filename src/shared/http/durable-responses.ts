import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { GroupCommit } from '../db/group-commit.js';

type End = Response['end'];
type Write = Response['write'];
/** Headers that described the answer being replaced; security headers and the request id stay. */
const BODY_HEADERS = ['content-length', 'content-type', 'content-encoding', 'etag', 'last-modified', 'location', 'idempotent-replayed', 'cache-control'];

/** Per response: its own `write`/`end`, and the calls queued behind a pending commit. */
interface Held {
  write: (this: Response, chunk?: unknown, encoding?: unknown, callback?: unknown) => boolean;
  end: (this: Response, chunk?: unknown, encoding?: unknown, callback?: unknown) => Response;
  /** Non-null once something was queued: later calls queue behind it to keep their order. */
  queue: Promise<void> | null;
  failed: boolean;
}
const HELD = Symbol('held');
type HeldResponse = Response & { [HELD]: Held };

/**
 * Holds every answer until the writes it may report are durable. With group commit a route's
 * writes (or another request's, read back by this one) are committed after the current turn
 * of the event loop; a 2xx must not leave before that. While a batch is pending, `write` and
 * `end` are queued in order behind its commit; when nothing is pending they pass straight
 * through. If the commit fails, an answer whose head was not sent yet is replaced by the error
 * handler's (a 503 `storage_unavailable`); a stream already under way is cut.
 * The replacement `write`/`end` are shared by all responses (they find theirs through `this`),
 * so an answer that passes straight through allocates one small record and no closure.
 * Routes that report no write (health, readiness) are mounted before it (`Mount.unheld`), so
 * that a slow or hung disk still shows on `/readyz`.
 * @example app.use(holdResponsesUntilDurable(group, errorHandler));
 */
export function holdResponsesUntilDurable(group: Pick<GroupCommit, 'pending' | 'settled'>, onFailure: ErrorRequestHandler): RequestHandler {
  const hold = (res: Response, held: Held, run: () => void): void => {
    held.queue = (held.queue ?? Promise.resolve())
      .then(() => group.settled())
      .then(
        () => {
          if (!held.failed) run();
        },
        (error: unknown) => {
          if (held.failed) return;
          held.failed = true;
          res.write = held.write as Write;
          res.end = held.end as End;
          if (res.headersSent) {
            res.destroy(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          for (const name of BODY_HEADERS) res.removeHeader(name);
          onFailure(error, res.req, res, () => undefined);
        },
      );
  };

  function write(this: HeldResponse, chunk?: unknown, encoding?: unknown, callback?: unknown): boolean {
    const held = this[HELD];
    if (held.queue === null && !group.pending) return held.write.call(this, chunk, encoding, callback);
    hold(this, held, () => held.write.call(this, chunk, encoding, callback));
    return true;
  }
  function end(this: HeldResponse, chunk?: unknown, encoding?: unknown, callback?: unknown): Response {
    const held = this[HELD];
    // The answer is complete once its end runs: the response's own write and end come back first,
    // for an end that writes its last chunk through `this.write` (light-my-request's does).
    const finish = (): Response => {
      Object.assign(this, { write: held.write, end: held.end });
      return held.end.call(this, chunk, encoding, callback);
    };
    if (held.queue === null && !group.pending) return finish();
    hold(this, held, finish);
    return this;
  }

  return (_req, res, next) => {
    (res as HeldResponse)[HELD] = { write: res.write as Held['write'], end: res.end as Held['end'], queue: null, failed: false };
    res.write = write as Write;
    res.end = end as End;
    next();
  };
}
