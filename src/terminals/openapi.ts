import { buildOpenApi, errorTable, type JsonSchema } from '../shared/http/openapi.js';
import { TERMINAL_OPERATIONS } from './operations.js';

/** Errors any /v1 operation can answer: bad input, key, body, host, limiter, bug, storage. */
const COMMON_ERRORS = [400, 401, 404, 413, 415, 421, 429, 500, 503];

const DESCRIPTION = `The native terminal API of tenderbridge. One bearer key per terminal; a terminal sees only its own payments (another terminal's payment answers 404 as if it did not exist). Money is always integer minor units (1995 is NZD 19.95) with an ISO 4217 code.

Every error is JSON \`{"error": {"code", "message", "details"?, "requestId"}}\`. Send \`X-Request-Id\` to correlate with tenderbridge's logs; it is echoed back.

${errorTable()}`;

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
    operations: TERMINAL_OPERATIONS,
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
