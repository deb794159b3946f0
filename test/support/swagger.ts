import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validates bodies against the published Electrum QR v1.7.0 Swagger definitions (read from
 * the shared reference, never copied into the project), with the README's errata applied.
 */

export const SWAGGER_PATH = fileURLToPath(new URL('../../../shared/reference/electrum-qr/swagger-1.7.0.yaml', import.meta.url));

type Definitions = Record<string, Record<string, unknown>>;

let compiled: { ajv: Ajv; cache: Map<string, ValidateFunction> } | null = null;

function load() {
  if (compiled) return compiled;
  const spec = parse(readFileSync(SWAGGER_PATH, 'utf8')) as { definitions: Definitions };
  const definitions = structuredClone(spec.definitions);
  // Errata: the generator leaked Java's OffsetDateTime; on the wire expiryDate is an RFC 3339 string.
  const qrProperties = definitions.QrProperties?.properties as Record<string, unknown> | undefined;
  if (!qrProperties) throw new Error('QrProperties missing from the spec');
  qrProperties.expiryDate = { type: 'string', format: 'date-time' };

  const ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS; its plugin function is the module's default export.
  const addFormats = (ajvFormats as unknown as { default: (a: Ajv) => Ajv }).default;
  addFormats(ajv);
  ajv.addSchema({ $id: 'electrum', definitions }, 'electrum');
  compiled = { ajv, cache: new Map() };
  return compiled;
}

function validator(definition: string): ValidateFunction {
  const { ajv, cache } = load();
  let validate = cache.get(definition);
  if (!validate) {
    const schema = ajv.getSchema(`electrum#/definitions/${definition}`);
    if (!schema) throw new Error(`no definition ${definition} in the Electrum spec`);
    validate = schema;
    cache.set(definition, validate);
  }
  return validate;
}

/**
 * Validates `body` against `#/definitions/<definition>`; returns the errors (empty when valid).
 * @example expect(validateElectrum('ErrorDetail', body)).toEqual([]);
 */
export function validateElectrum(definition: string, body: unknown): string[] {
  const validate = validator(definition);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Throws with Ajv's errors unless `body` is a valid `definition`. */
export function expectElectrum(definition: string, body: unknown): void {
  const errors = validateElectrum(definition, body);
  if (errors.length > 0) throw new Error(`not a valid Electrum ${definition}:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(body, null, 2)}`);
}
