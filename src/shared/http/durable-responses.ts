import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { GroupCommit } from '../db/group-commit.js';

type End = Response['end'];
/** Headers that described the answer being replaced; security headers and the request id stay. */
const BODY_HEADERS = ['content-length', 'content-type', 'content-encoding', 'etag', 'last-modified', 'location', 'idempotent-replayed', 'cache-control'];
type Write = Response['write'];

/**
 * Holds every answer until the writes it may report are durable. With group commit a route's
 * writes (or another request's, read back by this one) are committed after the current turn
 * of the event loop; a 2xx must not leave before that. While a batch is pending, `write` and
 * `end` are queued in order behind its commit; when nothing is pending they pass straight
 * through. If the commit fails, an answer whose head was not sent yet is replaced by the error
 * handler's (a 503 `storage_unavailable`); a stream already under way is cut.
 * @example app.use(holdResponsesUntilDurable(group, errorHandler));
 */
export function holdResponsesUntilDurable(group: Pick<GroupCommit, 'pending' | 'settled'>, onFailure: ErrorRequestHandler): RequestHandler {
  return (req, res, next) => {
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    // Non-null once something was queued: later calls queue behind it to keep their order.
    let queue: Promise<void> | null = null;
    let failed = false;

    const hold = (run: () => void): void => {
      queue = (queue ?? Promise.resolve())
        .then(() => group.settled())
        .then(
          () => {
            if (!failed) run();
          },
          (error: unknown) => {
            if (failed) return;
            failed = true;
            res.write = write as Write;
            res.end = end as End;
            if (res.headersSent) {
              res.destroy(error instanceof Error ? error : new Error(String(error)));
              return;
            }
            for (const name of BODY_HEADERS) res.removeHeader(name);
            onFailure(error, req, res, () => undefined);
          },
        );
    };

    res.write = function (this: Response, ...args: unknown[]): boolean {
      if (queue === null && !group.pending) return write(...args);
      hold(() => write(...args));
      return true;
    } as Write;
    res.end = function (this: Response, ...args: unknown[]): Response {
      if (queue === null && !group.pending) return end(...args);
      hold(() => end(...args));
      return this;
    } as End;
    next();
  };
}
