import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { GroupCommit } from './shared/db/group-commit.js';
import { holdResponsesUntilDurable } from './shared/http/durable-responses.js';
import type { Logger } from './shared/logger.js';
import { createErrorHandler, notFoundHandler, type ErrorFormat } from './shared/http/error-handler.js';
import { requestContext } from './shared/http/request-context.js';
import { securityHeaders } from './shared/http/security.js';

/** A group of routes mounted at a path (or at the root). */
export interface Mount {
  path: string;
  router: express.Router;
  /**
   * Its answers report no write (health, readiness): mounted ahead of the durability hold, so
   * that a slow or hung disk never holds them and still shows on `/readyz`.
   */
  unheld?: boolean;
}

export interface AppDeps {
  logger: Logger;
  /**
   * Mounted in order, the `unheld` ones first. At the root, the public ones (health, callback) come before the
   * authenticated ones, which may refuse whatever reaches them. A router mounted at a prefix
   * that no root route uses (/v1, /qr/v1) can go first: it sees only its own requests, which
   * then skip the root routers.
   */
  mounts: readonly Mount[];
  /** Middleware run before every route (e.g. the metrics timer). */
  before?: readonly RequestHandler[];
  /** Error middleware that sees failures before the error handler writes them (the failed-authentication limiter). */
  onError?: readonly ErrorRequestHandler[];
  /** Route families that answer errors in their own shape (Electrum's ErrorDetail). */
  errorFormats?: readonly ErrorFormat[];
  /** The database's group commit: answers wait for the writes they may report to be durable. */
  group?: Pick<GroupCommit, 'pending' | 'settled'>;
  /** Reverse proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client in `req.ip` (`server.trustProxy`); none by default. */
  trustProxy?: readonly string[];
}

/**
 * The HTTP application, separate from `listen()` so that tests run it in-process on port 0.
 * Routes never catch: one error handler, mounted last, writes every failure.
 * @example const app = createApp({ logger, mounts: [{ path: '/', router: livenessRoutes() }] });
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // No automatic ETag (a SHA-1 of every JSON body, ~5% of the CPU of a request): JSON answers
  // describe live payments, which terminals follow by long-poll or SSE, never by revalidation.
  // QR images set their own ETag and answer 304; static pages get theirs from express.static.
  app.set('etag', false);
  app.set('trust proxy', [...(deps.trustProxy ?? [])]);
  app.set('query parser', 'simple');
  const errorHandler = createErrorHandler(deps.logger.child({ component: 'http' }), deps.errorFormats);
  app.use(requestContext(deps.logger.child({ component: 'http' })));
  app.use(securityHeaders());
  for (const handler of deps.before ?? []) app.use(handler);
  // Everything the hold lets through is mounted before it: which routes pass is where they are.
  for (const mount of deps.mounts) if (mount.unheld) app.use(mount.path, mount.router);
  if (deps.group) app.use(holdResponsesUntilDurable(deps.group, errorHandler));
  for (const mount of deps.mounts) if (!mount.unheld) app.use(mount.path, mount.router);
  app.use(notFoundHandler);
  for (const handler of deps.onError ?? []) app.use(handler);
  app.use(errorHandler);
  return app;
}
