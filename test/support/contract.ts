import { readFileSync } from 'node:fs';
import { ServerResponse } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { terminalApiDocument } from '../../src/terminals/openapi.js';
import type { JsonSchema } from '../../src/shared/http/openapi.js';

/**
 * The contract check of the test suite: every answer a daemon under test gives on /v1 is
 * validated against the OpenAPI document by method, path, status, media type and body (Ajv,
 * JSON Schema 2020-12). The harness watches its daemons (`watchContract`); a vitest setup file
 * (test/support/contract-setup.ts) fails the running test when an answer broke the document.
 */

/** What a server answered, as the check sees it. */
export interface Answer {
  method: string;
  /** Path with or without the query string. */
  path: string;
  status: number;
  contentType: string | null;
  body: string;
}

type Operation = { responses: Record<string, { content?: Record<string, { schema: JsonSchema; 'x-events'?: Record<string, JsonSchema> }> }> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: JsonSchema; 'x-preflight'?: Operation };

export const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Compiles JSON Schemas of `doc` (its `#/components/...` references resolved) with Ajv, JSON
 * Schema 2020-12 and formats: for a part of the document the answer checker does not cover
 * (request bodies, webhooks).
 * @example schemaCompiler(doc)(doc.webhooks['refund.failed'].post.requestBody.content['application/json'].schema)(body)
 */
export function schemaCompiler(doc: JsonSchema): (schema: JsonSchema) => ValidateFunction {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (ajvFormats as unknown as { default: (a: Ajv2020) => void }).default(ajv);
  ajv.addSchema({ $id: 'openapi.json', components: doc['components'] }, 'openapi.json');
  return (schema) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')) as JsonSchema);
}

/**
 * A checker over an OpenAPI 3.1 document: `check(answer)` lists what breaks it (empty when valid).
 * @example createContractChecker(doc).check({ method: 'GET', path: '/v1/terminal', status: 200, contentType: 'application/json', body }) // []
 */
export function createContractChecker(doc: JsonSchema) {
  const { paths, components, 'x-preflight': preflight } = doc as Doc;
  const compile = schemaCompiler({ components });
  const compiled = new Map<string, ValidateFunction>();
  const validator = (key: string, schema: JsonSchema) => {
    let v = compiled.get(key);
    if (!v) {
      v = compile(schema);
      compiled.set(key, v);
    }
    return v;
  };
  const templates = Object.keys(paths).map((t) => ({ t, re: new RegExp(`^${t.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const errorsOf = (v: ValidateFunction, what: string) => (v.errors ?? []).map((e) => `${what}${e.instancePath || '/'} ${e.message ?? 'is invalid'} ${JSON.stringify(e.params)}`);
  const parseJson = (body: string): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: JSON.parse(body) };
    } catch {
      return { ok: false };
    }
  };

  function checkJson(key: string, schema: JsonSchema, body: string, what: string): string[] {
    const parsed = parseJson(body);
    if (!parsed.ok) return [`${what} is not JSON: ${body.slice(0, 200)}`];
    const v = validator(key, schema);
    return v(parsed.value) ? [] : errorsOf(v, what);
  }

  function checkEvents(key: string, events: Record<string, JsonSchema>, body: string): string[] {
    const problems: string[] = [];
    for (const block of body.split(/\n\n/)) {
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name === undefined || data === undefined) continue;
      const schema = events[name];
      if (!schema) problems.push(`event "${name}" is not in the document (${Object.keys(events).join(', ')})`);
      else problems.push(...checkJson(`${key} event ${name}`, schema, data, `event ${name} data`));
    }
    return problems;
  }

  return {
    check(answer: Answer): string[] {
      const path = answer.path.split('?')[0] ?? '';
      const method = answer.method.toLowerCase() === 'head' ? 'get' : answer.method.toLowerCase();
      // A CORS preflight, on whatever path, is answered as the document's root x-preflight says.
      const template = method === 'options' && preflight ? 'x-preflight' : templates.find((x) => x.re.test(path))?.t;
      const operation = method === 'options' && preflight ? preflight : template ? paths[template]?.[method] : undefined;
      const where = `${answer.method} ${path} → ${answer.status}`;
      const type = answer.contentType?.split(';')[0]?.trim().toLowerCase() ?? null;
      if (!operation) {
        // A route the document does not have: only an error in the one shape may answer it.
        const schema = { $ref: `#/components/schemas/Error${answer.status}` };
        if (answer.status < 400 || !(components['schemas'] as Record<string, unknown>)[`Error${answer.status}`]) return [`${where}: no operation ${method.toUpperCase()} ${path} in the document`];
        return checkJson(`error ${answer.status}`, schema, answer.body, `${where}: body`);
      }
      const response = operation.responses[String(answer.status)];
      if (!response) return [`${where}: status ${answer.status} is not documented for ${method.toUpperCase()} ${template} (documented: ${Object.keys(operation.responses).join(', ')})`];
      if (!response.content) return answer.body.length === 0 || answer.method === 'HEAD' ? [] : [`${where}: the document says no body, got ${answer.body.length} bytes`];
      const media = type ? response.content[type] : undefined;
      if (!media) return [`${where}: media type ${type ?? 'none'} is not documented (documented: ${Object.keys(response.content).join(', ')})`];
      if (answer.method === 'HEAD') return [];
      const key = `${method} ${template} ${answer.status} ${type}`;
      if (type === 'application/json') return checkJson(key, media.schema, answer.body, `${where}: body`).map((p) => (p.startsWith(where) ? p : `${where}: ${p}`));
      if (media['x-events']) return checkEvents(key, media['x-events'], answer.body).map((p) => `${where}: ${p}`);
      return [];
    },
  };
}

let checker: ReturnType<typeof createContractChecker> | null = null;
const violations: string[] = [];
let checked = 0;
const WATCHED = Symbol('contract watched');
const bodies = new WeakMap<ServerResponse, Buffer[]>();
let installed = false;

const isText = (type: unknown) => typeof type === 'string' && /^(application\/json|text\/event-stream)/i.test(type);

/**
 * Hooks the lowest write of every HTTP answer once (beneath express and the durable-response
 * hold, so an answer replaced by a 503 is seen as sent), and checks those of watched apps.
 */
function install(): void {
  if (installed) return;
  installed = true;
  const proto = ServerResponse.prototype as unknown as { write: (...a: unknown[]) => boolean; end: (...a: unknown[]) => ServerResponse };
  const write = proto.write;
  const end = proto.end;
  const keep = (res: ServerResponse, chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const list = bodies.get(res);
    if (!list || !isText(res.getHeader('content-type'))) return;
    list.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
  };
  proto.write = function (this: ServerResponse, chunk: unknown, encoding: unknown, ...rest: unknown[]) {
    keep(this, chunk, encoding);
    return write.call(this, chunk, encoding, ...rest);
  };
  proto.end = function (this: ServerResponse, chunk: unknown, encoding: unknown, ...rest: unknown[]) {
    keep(this, chunk, encoding);
    const list = bodies.get(this);
    const result = end.call(this, chunk, encoding, ...rest);
    if (list) {
      bodies.delete(this);
      const req = (this as unknown as { req: { method: string; originalUrl?: string; url: string } }).req;
      const type = this.getHeader('content-type');
      checked++;
      const problems = (checker ??= createContractChecker(terminalApiDocument(PACKAGE_VERSION))).check({ method: req.method, path: req.originalUrl ?? req.url, status: this.statusCode, contentType: typeof type === 'string' ? type : null, body: Buffer.concat(list).toString('utf8') });
      violations.push(...problems);
    }
    return result;
  };
}

/**
 * Checks every /v1 answer of `app` (an express app) against the document from now on: its
 * `handle` marks each /v1 request's response as it comes in, and the hooked writes collect it.
 * @example watchContract(daemon.app)
 */
export function watchContract(app: object): void {
  install();
  const target = app as { handle: (req: { url: string }, res: ServerResponse, ...rest: unknown[]) => unknown; [WATCHED]?: true };
  if (target[WATCHED]) return;
  target[WATCHED] = true;
  const handle = target.handle.bind(app);
  target.handle = (req, res, ...rest) => {
    if (req.url.startsWith('/v1/') || req.url === '/v1') bodies.set(res, []);
    return handle(req, res, ...rest);
  };
}

/** The violations found since the last call (and forgets them). */
export function takeContractViolations(): string[] {
  return violations.splice(0);
}

/** How many /v1 answers were checked so far (a test can prove the check ran). */
export function contractAnswersChecked(): number {
  return checked;
}
