import { RETRY_AFTER_STATUSES } from '../shared/http/error-catalogue.js';
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS } from '../shared/http/cors.js';
import { buildOpenApi, errorTable, type JsonSchema } from '../shared/http/openapi.js';
import { WEBHOOKS } from '../webhooks/openapi.js';
import { TERMINAL_OPERATIONS } from './operations.js';

/** Errors any /v1 operation can answer: bad input, key, body, host, limiter, bug, storage. */
const COMMON_ERRORS = [400, 401, 404, 413, 415, 421, 429, 500, 503];

const DESCRIPTION = `The native terminal API of tenderbridge. One bearer key per terminal; a terminal sees only its own payments (another terminal's payment answers 404 as if it did not exist). Money is always integer minor units (1995 is NZD 19.95) with an ISO 4217 code.

Every error is JSON \`{"error": {"code", "message", "retryable", "details"?, "requestId"}}\`. \`retryable: true\` means sending the same request again, with the same \`Idempotency-Key\`, is safe and may succeed: wait the \`Retry-After\` seconds first (every retryable 429 and 5xx carries it). Send \`X-Request-Id\` to correlate with tenderbridge's logs; it is echoed back.

Browser-based tills on other origins are allowed by \`server.cors.origins\` (off by default). The browser's CORS preflight (\`OPTIONS\` on any path) is described once, by the root \`x-preflight\` of this document, not per path: a client never sends it itself.

${errorTable()}`;

const PREFLIGHT = {
  description: `A CORS preflight, on any /v1 path, answered before authentication (it carries no key). From an origin listed in server.cors.origins: 204 with what it may send (methods GET and POST; headers ${CORS_ALLOWED_HEADERS.join(', ')}; its script may read ${CORS_EXPOSED_HEADERS.join(', ')}). From any other origin: 403 origin_not_allowed without CORS headers, so the browser blocks the request. With CORS off (no origins listed) a preflight is refused by authentication: 401.`,
  responses: {
    204: {
      description: 'The origin is listed: the browser may send the request',
      headers: {
        'Access-Control-Allow-Origin': { description: 'The requesting origin', schema: { type: 'string' } },
        'Access-Control-Allow-Methods': { description: 'GET,POST', schema: { type: 'string' } },
        'Access-Control-Allow-Headers': { description: CORS_ALLOWED_HEADERS.join(','), schema: { type: 'string' } },
        'Access-Control-Max-Age': { description: 'server.cors.maxAgeSeconds', schema: { type: 'string' } },
      },
    },
  },
  errors: [401, 403],
};

let cached: JsonSchema | null = null;

/**
 * The OpenAPI 3.1 document of /v1, generated from the operations' zod schemas (once, then kept).
 * `version` is the package's version, so the document is the same on every machine.
 * @example res.json(terminalApiDocument('0.2.0'))
 */
export function terminalApiDocument(version: string): JsonSchema {
  if (cached?.['info'] && (cached['info'] as { version: string }).version === version) return cached;
  cached = buildOpenApi({
    info: { title: 'tenderbridge terminal API', version, description: DESCRIPTION },
    securitySchemes: { terminalKey: { type: 'http', scheme: 'bearer', description: "The terminal's API key (terminals[].apiKey in config): `Authorization: Bearer <key>`" } },
    security: [{ terminalKey: [] }],
    commonErrors: COMMON_ERRORS,
    retryAfter: RETRY_AFTER_STATUSES,
    preflight: PREFLIGHT,
    operations: TERMINAL_OPERATIONS,
    webhooks: WEBHOOKS,
  });
  return cached;
}

/**
 * The document as docs/openapi.json holds it (written by the build, compared by a test).
 * @example writeFileSync('docs/openapi.json', serializeDocument(terminalApiDocument(version)))
 */
export function serializeDocument(doc: JsonSchema): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
