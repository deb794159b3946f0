import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';

/**
 * Derives tenderbridge's own JSON Schema of the Electrum QR Payment Service Interface v1.7.0,
 * `test/fixtures/electrum-qr-1.7.0.schema.json`, from the published Swagger 2.0 document, so the
 * conformance tests need no copy of the spec beside the repository. The fixture holds facts only
 * (operations, definitions, required fields, types, formats, lengths, patterns, enums), none of the
 * prose, with the errata of the reference summary applied and each one checked against the
 * document before it is applied.
 *
 *   npx tsx scripts/electrum-schema.ts [SPEC]          rewrite the fixture from SPEC
 *   npx tsx scripts/electrum-schema.ts --check [SPEC]  exit 1 when the fixture differs from SPEC's
 *
 * SPEC defaults to $ELECTRUM_SWAGGER, else `shared/reference/electrum-qr/swagger-1.7.0.yaml`
 * beside the checkout (where CI has it).
 */

const ROOT = resolve(import.meta.dirname, '..');
export const FIXTURE_PATH = resolve(ROOT, 'test/fixtures/electrum-qr-1.7.0.schema.json');
/** The one place the project looks outside its tree, and only to check the fixture: never at build or run time. */
const SPEC_BESIDE_CHECKOUT = resolve(ROOT, '../shared/reference/electrum-qr/swagger-1.7.0.yaml');

/** Where the published spec is, if it is here: `$ELECTRUM_SWAGGER`, else beside the checkout. */
export function locateElectrumSwagger(env: NodeJS.ProcessEnv = process.env): { path: string; found: boolean } {
  const path = env['ELECTRUM_SWAGGER'] ? resolve(env['ELECTRUM_SWAGGER']) : SPEC_BESIDE_CHECKOUT;
  return { path, found: existsSync(path) };
}

export type JsonSchema = { [keyword: string]: unknown };

export interface ElectrumOperation {
  method: string;
  /** The full path, base path included: `/qr/v1/scans`. */
  path: string;
  auth: 'basic';
  /** The body's definition. */
  request: string;
  /** Status → the body's definition, or null for an answer without a body. */
  responses: Record<string, string | null>;
}

export interface ElectrumSchema {
  $schema: string;
  title: string;
  $comment: string;
  'x-source': { document: string; title: string; version: string; license: string; sha256: string };
  'x-errata': Array<{ where: string; published: string; validated: string }>;
  'x-operations': Record<string, ElectrumOperation>;
  definitions: Record<string, JsonSchema>;
}

interface Swagger {
  swagger: string;
  info: { title: string; version: string; license: { name: string } };
  basePath: string;
  paths: Record<string, Record<string, SwaggerOperation>>;
  securityDefinitions: Record<string, { type: string }>;
  definitions: Record<string, JsonSchema>;
}
interface SwaggerOperation {
  operationId: string;
  consumes: string[];
  produces: string[];
  parameters: Array<{ in: string; schema?: JsonSchema }>;
  responses: Record<string, { schema?: JsonSchema }>;
  security: Array<Record<string, unknown>>;
}

/** Validation keywords carried into the fixture as they are. */
const KEPT = new Set(['type', 'format', 'required', 'enum', 'pattern', 'minLength', 'maxLength', 'default', '$ref']);
/** Prose, left behind. */
const DROPPED = new Set(['description', 'example', 'title']);

const REF = /^#\/definitions\/([A-Za-z0-9]+)$/;
const refName = (ref: unknown, where: string): string => {
  const match = typeof ref === 'string' ? REF.exec(ref) : null;
  if (!match?.[1]) throw new Error(`${where}: unexpected $ref ${String(ref)}`);
  return match[1];
};

/** The validation facts of one Swagger schema; refuses a keyword it would not know how to carry. */
function facts(schema: JsonSchema, where: string): JsonSchema {
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (DROPPED.has(keyword)) continue;
    if (keyword === 'properties') {
      out['properties'] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([name, s]) => [name, facts(s, `${where}.${name}`)]));
    } else if (keyword === 'items' || keyword === 'additionalProperties') {
      out[keyword] = typeof value === 'object' && value !== null ? facts(value as JsonSchema, `${where}.${keyword}`) : value;
    } else if (KEPT.has(keyword)) {
      out[keyword] = value;
    } else {
      throw new Error(`${where}: keyword "${keyword}" is not carried by scripts/electrum-schema.ts; decide what it means for the fixture`);
    }
  }
  // Swagger 2.0 lets a $ref carry a description; JSON Schema draft-07 ignores a $ref's siblings, so a
  // $ref that kept any would validate less than the spec says.
  if ('$ref' in out && Object.keys(out).length > 1) throw new Error(`${where}: $ref with sibling keywords ${Object.keys(out).join(', ')}`);
  return out;
}

function operations(spec: Swagger): Record<string, ElectrumOperation> {
  const out: Record<string, ElectrumOperation> = {};
  for (const [path, byMethod] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      const where = `${method.toUpperCase()} ${path}`;
      const body = op.parameters.filter((p) => p.in === 'body');
      if (body.length !== 1 || op.parameters.length !== 1 || !body[0]?.schema) throw new Error(`${where}: expected exactly one body parameter`);
      if (!isDeepStrictEqual(op.consumes, ['application/json']) || !isDeepStrictEqual(op.produces, ['application/json'])) throw new Error(`${where}: not JSON in and out`);
      const schemes = op.security.flatMap((s) => Object.keys(s));
      if (schemes.length !== 1 || spec.securityDefinitions[schemes[0] as string]?.type !== 'basic') throw new Error(`${where}: expected HTTP basic auth only`);
      const responses: Record<string, string | null> = {};
      for (const [status, response] of Object.entries(op.responses)) responses[status] = response.schema ? refName(response.schema['$ref'], `${where} ${status}`) : null;
      out[op.operationId] = { method: method.toUpperCase(), path: `${spec.basePath}${path}`, auth: 'basic', request: refName(body[0].schema['$ref'], where), responses };
    }
  }
  return out;
}

function at(definitions: Record<string, JsonSchema>, definition: string, property: string): JsonSchema {
  const properties = definitions[definition]?.['properties'] as Record<string, JsonSchema> | undefined;
  const schema = properties?.[property];
  if (!schema) throw new Error(`${definition}.${property} is not in the spec`);
  return schema;
}

/**
 * The known errata (shared/reference/electrum-qr/README.md, "Known errata in the published YAML").
 * Each checks that the document still says what the erratum corrects, so a corrected spec fails
 * the script instead of being patched blindly.
 */
function applyErrata(doc: Pick<ElectrumSchema, 'x-operations' | 'definitions'>): ElectrumSchema['x-errata'] {
  const expiry = at(doc.definitions, 'QrProperties', 'expiryDate');
  if (!isDeepStrictEqual(expiry, { $ref: '#/definitions/OffsetDateTime' })) throw new Error(`QrProperties.expiryDate is no longer an OffsetDateTime: review this erratum (${JSON.stringify(expiry)})`);
  (doc.definitions['QrProperties']?.['properties'] as Record<string, JsonSchema>)['expiryDate'] = {
    type: 'string',
    format: 'date-time',
    $comment: 'erratum: published as a $ref to a Java OffsetDateTime object; on the wire an RFC 3339 date-time string',
  };

  const errorId = at(doc.definitions, 'ErrorDetail', 'id');
  if (errorId['maxLength'] !== 20 || errorId['type'] !== 'string') throw new Error(`ErrorDetail.id is no longer a string of at most 20 characters: review this erratum (${JSON.stringify(errorId)})`);
  errorId['$comment'] = 'erratum: described as a UUID, but maxLength 20: a 36-character UUID fails, so ids here are random and at most 20 characters';

  const scan = doc['x-operations']['notifyScan'];
  if (!scan || !isDeepStrictEqual(Object.keys(scan.responses).filter((s) => s.startsWith('2')), ['202']) || scan.responses['202'] !== null) {
    throw new Error(`notifyScan no longer answers 202 without a body: review this erratum (${JSON.stringify(scan?.responses)})`);
  }

  return [
    { where: 'definitions.QrProperties.properties.expiryDate', published: '$ref #/definitions/OffsetDateTime (a Java object)', validated: 'string, format date-time (RFC 3339)' },
    { where: 'definitions.ErrorDetail.properties.id', published: 'described as a UUID, maxLength 20', validated: 'maxLength 20 kept: ids of at most 20 characters, not UUIDs' },
    { where: 'x-operations.notifyScan.responses', published: 'the sequence diagrams say HTTP 200', validated: '202 without a body, as the specification says' },
  ];
}

/** The definitions reachable from the operations, in the spec's order (the Java time types fall out once expiryDate is a string). */
function reachable(all: Record<string, JsonSchema>, ops: Record<string, ElectrumOperation>): Record<string, JsonSchema> {
  const seen = new Set<string>();
  const visit = (name: string, where: string) => {
    if (seen.has(name)) return;
    const schema = all[name];
    if (!schema) throw new Error(`${where}: no definition ${name}`);
    seen.add(name);
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref') visit(refName(value, name), name);
          else walk(value);
        }
      }
    };
    walk(schema);
  };
  for (const [id, op] of Object.entries(ops)) for (const name of [op.request, ...Object.values(op.responses)]) if (name) visit(name, id);
  return Object.fromEntries(Object.entries(all).filter(([name]) => seen.has(name)));
}

/**
 * The fixture derived from the published spec's text.
 * @example const schema = deriveElectrumSchema(readFileSync(locateElectrumSwagger().path, 'utf8'));
 */
export function deriveElectrumSchema(specText: string): ElectrumSchema {
  const spec = parse(specText) as Swagger;
  if (spec.swagger !== '2.0' || spec.info.version !== '1.7.0') throw new Error(`expected Swagger 2.0 of Electrum QR 1.7.0, got swagger ${spec.swagger} version ${spec.info.version}`);
  const all = Object.fromEntries(Object.entries(spec.definitions).map(([name, schema]) => [name, facts(schema, name)]));
  const ops = operations(spec);
  const doc = { 'x-operations': ops, definitions: all };
  const errata = applyErrata(doc);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Electrum QR Payment Service Interface 1.7.0, as tenderbridge validates it',
    $comment: `Generated by scripts/electrum-schema.ts from the published ${spec.info.title} ${spec.info.version} (Swagger 2.0, ${spec.info.license.name}, Electrum Payments): its validation facts, without the prose, with the known errata applied. Do not edit: regenerate with \`npx tsx scripts/electrum-schema.ts PATH/swagger-1.7.0.yaml\`.`,
    'x-source': { document: 'swagger-1.7.0.yaml', title: spec.info.title, version: spec.info.version, license: spec.info.license.name, sha256: createHash('sha256').update(specText).digest('hex') },
    'x-errata': errata,
    'x-operations': ops,
    definitions: reachable(all, ops),
  };
}

/** The fixture file's exact text for `schema`. */
export const fixtureText = (schema: ElectrumSchema): string => `${JSON.stringify(schema, null, 2)}\n`;

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const given = argv.filter((a) => a !== '--check');
  const spec = given[0] ? { path: resolve(given[0]), found: existsSync(given[0]) } : locateElectrumSwagger();
  if (!spec.found) {
    console.error(`no Electrum spec at ${spec.path}: pass its path or set ELECTRUM_SWAGGER`);
    return 2;
  }
  const text = fixtureText(deriveElectrumSchema(readFileSync(spec.path, 'utf8')));
  const current = existsSync(FIXTURE_PATH) ? readFileSync(FIXTURE_PATH, 'utf8') : '';
  if (check) {
    if (current === text) return 0;
    console.error(`${FIXTURE_PATH} differs from what ${spec.path} gives: run npx tsx scripts/electrum-schema.ts ${spec.path}`);
    return 1;
  }
  writeFileSync(FIXTURE_PATH, text);
  console.log(`${current === text ? 'unchanged' : 'wrote'} ${FIXTURE_PATH} from ${spec.path}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
