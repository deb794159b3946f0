import { IncomingMessage, ServerResponse, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';

/** What `http.createServer(options)` takes to build each request and response. */
export interface ServerClasses {
  IncomingMessage?: typeof IncomingMessage;
  ServerResponse?: typeof ServerResponse;
}

/** Node's own constructors are plain functions (callable on a `this`), not `class`es. */
const isPlainConstructor = (fn: unknown): boolean => typeof fn === 'function' && !Function.prototype.toString.call(fn).startsWith('class');

/**
 * Request and response constructors whose instances are born with the express app's own
 * prototypes (`app.request`, `app.response`). Express re-prototypes every request and response
 * on entry (`Object.setPrototypeOf`); on objects built by Node's classes that is a map change
 * on two large objects per request, which also leaves Node's HTTP internals with polymorphic
 * property accesses: measured at about two thirds of the CPU of a `GET /healthz`. Built with
 * the right prototype already, that call changes nothing. Anything that is not an express app
 * (or a Node whose constructors became `class`es) gets `{}`: Node's defaults.
 * @example createServer(expressServerClasses(app), app)
 */
export function expressServerClasses(handler: RequestListener): ServerClasses {
  const app = handler as RequestListener & { request?: unknown; response?: unknown };
  if (!(app.request instanceof IncomingMessage) || !(app.response instanceof ServerResponse)) return {};
  if (!isPlainConstructor(IncomingMessage) || !isPlainConstructor(ServerResponse)) return {};
  const incoming = IncomingMessage as unknown as (this: IncomingMessage, socket: Socket) => void;
  const outgoing = ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: unknown) => void;
  function ExpressRequest(this: IncomingMessage, socket: Socket): void {
    incoming.call(this, socket);
  }
  function ExpressResponse(this: ServerResponse, req: IncomingMessage, options?: unknown): void {
    outgoing.call(this, req, options);
  }
  ExpressRequest.prototype = app.request;
  ExpressResponse.prototype = app.response;
  return { IncomingMessage: ExpressRequest as unknown as typeof IncomingMessage, ServerResponse: ExpressResponse as unknown as typeof ServerResponse };
}
