import { z } from 'zod';
import { codesOf, ERROR_CODES, errorJsonSchema } from './error-catalogue.js';

/** A JSON Schema (2020-12) object, as OpenAPI 3.1 embeds it. */
export type JsonSchema = Record<string, unknown>;

/** One answer of an operation. JSON bodies are zod schemas named with `.meta({ id })`. */
export interface ApiResponse {
  description: string;
  /** The JSON body's schema; it becomes `#/components/schemas/<id>`. */
  json?: z.ZodType;
  /** Bodies in other media types (images, event streams). */
  content?: Record<string, { schema: JsonSchema; 'x-events'?: Record<string, z.ZodType> }>;
  headers?: Record<string, { description: string; schema: JsonSchema; example?: string }>;
  /** An example body (for JSON: checked against `json` by test/unit/openapi.test.ts). */
  example?: unknown;
}

/** A header the operation reads. */
export interface ApiHeader {
  schema: z.ZodType;
  description: string;
  required?: boolean;
}

/**
 * A webhook the API POSTs to its users' receivers (OpenAPI 3.1's top-level `webhooks`): the
 * body's zod schema (the very one the sender builds the body with), the headers sent with it,
 * and what the sender does with each answer.
 */
export interface ApiWebhook {
  /** The key under `webhooks`: the event type. */
  name: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  headers: Record<string, ApiHeader>;
  /** The JSON body; its schema needs `.meta({ id })` (a component of the document). */
  body: { schema: z.ZodType; example: unknown };
  responses: Record<string, { description: string }>;
}

/**
 * One operation of an API: its request schemas (the very ones the route parses with) and
 * its answers. Adding a route is adding one of these beside its schemas.
 */
export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template: `/v1/payments/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Per-parameter descriptions (path and query), by name. */
  parameterDocs?: Record<string, string>;
  headers?: Record<string, ApiHeader>;
  body?: { id: string; schema: z.ZodType; required: boolean; example: unknown };
  responses: Record<number, ApiResponse>;
  /** Error statuses beyond the API's common ones; each is answered in the one error shape, with the codes of that status. */
  errors?: number[];
}

export interface ApiDescription {
  info: { title: string; version: string; description: string };
  securitySchemes: Record<string, JsonSchema>;
  security: Record<string, string[]>[];
  /** Error statuses every operation can answer. */
  commonErrors: number[];
  /** Error statuses whose retryable answers carry `Retry-After` (seconds). */
  retryAfter?: readonly number[];
  /**
   * How a CORS preflight (`OPTIONS` on any path) is answered, as the document's root
   * `x-preflight`: not an operation of each path (a client never calls it; the browser does),
   * but in the same shape, so that its answers are checked like an operation's.
   */
  preflight?: { description: string; responses: Record<number, ApiResponse>; errors: number[] };
  operations: readonly ApiOperation[];
  /** What the API POSTs to receivers it is configured with. */
  webhooks?: readonly ApiWebhook[];
}

const RETRY_AFTER = {
  description: 'Seconds to wait before sending the same request again; sent with every error whose `retryable` is true (a limiter sends the end of its window)',
  schema: { type: 'string', pattern: '^[0-9]+$' },
  example: '5',
};

const REF = '#/components/schemas/';
const ref = (id: string) => ({ $ref: `${REF}${id}` });

/** zod's per-registry output, with nested named schemas hoisted into components and the ids dropped. */
function componentsOf(registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const out = z.toJSONSchema(registry, { target: 'draft-2020-12', io, unrepresentable: 'any', uri: (id) => `${REF}${id}` }) as { schemas: Record<string, JsonSchema> };
  const schemas: Record<string, JsonSchema> = {};
  const shared = (out.schemas['__shared']?.['$defs'] ?? {}) as Record<string, JsonSchema>;
  for (const [id, schema] of [...Object.entries(out.schemas).filter(([id]) => id !== '__shared'), ...Object.entries(shared)]) {
    const { $schema: _s, $id: _i, ...rest } = schema;
    schemas[id] = rest;
  }
  // A named schema nested in a registered one lands in __shared's $defs: point its refs at the component instead.
  return JSON.parse(JSON.stringify(schemas).replaceAll(`"${REF}__shared#/$defs/`, `"${REF}`)) as Record<string, JsonSchema>;
}

function idOf(schema: z.ZodType, where: string): string {
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id !== 'string') throw new Error(`${where}: its schema needs .meta({ id: 'Name' }) to be a component of the document`);
  return id;
}

function parametersOf(op: ApiOperation): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', op.params], ['query', op.query]] as const) {
    if (!schema) continue;
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      const description = op.parameterDocs?.[name] ?? property['description'];
      out.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), ...(description ? { description } : {}), schema: property });
    }
  }
  return [...out, ...headerParameters(op.headers ?? {}, 'input')];
}

/** Header parameters: what a request carries (`input`), or what a webhook is sent with (`output`). */
function headerParameters(headers: Record<string, ApiHeader>, io: 'input' | 'output'): JsonSchema[] {
  return Object.entries(headers).map(([name, header]) => {
    const { $schema: _s, ...schema } = z.toJSONSchema(header.schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
    return { name, in: 'header', required: header.required ?? false, description: header.description, schema };
  });
}

/**
 * The OpenAPI 3.1 document of an API, generated from its operations' zod schemas (zod 4's
 * own JSON Schema output): request bodies as their input type, answers as their output type,
 * every error status in the one error shape with the codes of ERROR_CODES.
 * @example buildOpenApi({ info, securitySchemes, security, commonErrors: [400, 401], operations: TERMINAL_OPERATIONS })
 */
export function buildOpenApi(api: ApiDescription): JsonSchema {
  const requests = z.registry<{ id: string }>();
  const answers = z.registry<{ id: string }>();
  const add = (registry: typeof answers, schema: z.ZodType, id: string) => {
    if (!registry.has(schema)) registry.add(schema, { id });
  };
  const statuses = new Set<number>(api.commonErrors);
  for (const op of api.operations) {
    if (op.body) add(requests, op.body.schema, op.body.id);
    for (const [status, answer] of Object.entries(op.responses)) {
      const where = `${op.method.toUpperCase()} ${op.path} ${status}`;
      if (answer.json) add(answers, answer.json, idOf(answer.json, where));
      for (const media of Object.values(answer.content ?? {})) for (const event of Object.values(media['x-events'] ?? {})) add(answers, event, idOf(event, `${where} event`));
    }
    for (const status of op.errors ?? []) statuses.add(status);
  }
  for (const status of api.preflight?.errors ?? []) statuses.add(status);
  for (const hook of api.webhooks ?? []) add(answers, hook.body.schema, idOf(hook.body.schema, `webhook ${hook.name}`));
  for (const status of [...statuses].sort()) add(answers, errorJsonSchema(codesOf(status)), `Error${status}`);
  const schemas = { ...componentsOf(requests, 'input'), ...componentsOf(answers, 'output') };

  const paths: Record<string, Record<string, JsonSchema>> = {};
  const responsesOf = (what: string, own: Record<number, ApiResponse>, errors: readonly number[]) => {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, answer] of Object.entries(own)) {
      const content: Record<string, JsonSchema> = {};
      if (answer.json) content['application/json'] = { schema: ref(idOf(answer.json, what)), ...(answer.example === undefined ? {} : { example: answer.example }) };
      for (const [type, media] of Object.entries(answer.content ?? {})) {
        const events = Object.entries(media['x-events'] ?? {}).map(([name, schema]) => [name, ref(idOf(schema, what))] as const);
        content[type] = { schema: media.schema, ...(events.length ? { 'x-events': Object.fromEntries(events) } : {}), ...(answer.example === undefined || answer.json ? {} : { example: answer.example }) };
      }
      responses[status] = { description: answer.description, ...(answer.headers ? { headers: answer.headers } : {}), ...(Object.keys(content).length ? { content } : {}) };
    }
    for (const status of [...errors].sort()) {
      const error = ref(`Error${status}`);
      const mine = responses[String(status)];
      const codes = codesOf(status).join(', ');
      // An operation's own body for an error status (refund_declined's) is one of the shapes answered there.
      const schema = mine ? { anyOf: [error, ((mine['content'] as Record<string, JsonSchema>)['application/json'] as JsonSchema)['schema']] } : error;
      const headers = api.retryAfter?.includes(status) ? { headers: { 'Retry-After': RETRY_AFTER } } : {};
      responses[String(status)] = { description: mine ? `${String(mine['description'])}; or an error: ${codes}` : `Error: ${codes}`, ...headers, content: { 'application/json': { schema } } };
    }
    return responses;
  };
  for (const op of api.operations) {
    const responses = responsesOf(op.path, op.responses, [...api.commonErrors, ...(op.errors ?? [])]);
    const operation: JsonSchema = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: op.tags,
      parameters: parametersOf(op),
      ...(op.body ? { requestBody: { required: op.body.required, content: { 'application/json': { schema: ref(op.body.id), example: op.body.example } } } } : {}),
      responses,
    };
    (paths[op.path] ??= {})[op.method] = operation;
  }
  const webhooks = Object.fromEntries(
    (api.webhooks ?? []).map((hook) => [
      hook.name,
      {
        post: {
          operationId: hook.operationId,
          summary: hook.summary,
          ...(hook.description ? { description: hook.description } : {}),
          tags: hook.tags,
          parameters: headerParameters(hook.headers, 'output'),
          requestBody: { required: true, content: { 'application/json': { schema: ref(idOf(hook.body.schema, hook.name)), example: hook.body.example } } },
          responses: hook.responses,
          // The receiver authenticates the sender by the signature header, not by a terminal key.
          security: [],
        },
      },
    ]),
  );
  const preflight = api.preflight ? { 'x-preflight': { description: api.preflight.description, responses: responsesOf('OPTIONS', api.preflight.responses, api.preflight.errors) } } : {};
  return {
    openapi: '3.1.1',
    info: api.info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: api.security,
    ...preflight,
    paths,
    ...(api.webhooks ? { webhooks } : {}),
    components: { securitySchemes: api.securitySchemes, schemas },
  };
}

/** README-style table of the error codes, for the document's description. */
export function errorTable(): string {
  return ['| status | code | meaning |', '|---|---|---|', ...ERROR_CODES.map((e) => `| ${e.status} | \`${e.code}\` | ${e.meaning} |`)].join('\n');
}
