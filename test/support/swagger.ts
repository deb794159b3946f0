import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { FIXTURE_PATH, locateElectrumSwagger, type ElectrumOperation, type ElectrumSchema, type JsonSchema } from '../../scripts/electrum-schema.js';
import type { Prerequisite } from './system-tools.js';

/**
 * Validates bodies against the Electrum QR v1.7.0 definitions in the project's own fixture,
 * test/fixtures/electrum-qr-1.7.0.schema.json: the facts of the published Swagger document with
 * the known errata applied, derived by scripts/electrum-schema.ts. The published document itself
 * is needed only to prove the fixture still matches it (test/electrum/schema-fixture.test.ts).
 */

/** The committed fixture, parsed. */
export function electrumSchema(): ElectrumSchema {
  return JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as ElectrumSchema;
}

/** The published spec, for the one suite that checks the fixture against it. */
export function electrumSpec(): Prerequisite & { path: string } {
  const { path, found } = locateElectrumSwagger();
  return { path, found, needs: `the published Electrum spec at ${path} (set ELECTRUM_SWAGGER=/path/to/swagger-1.7.0.yaml to check the fixture against it)` };
}

export type ElectrumValidator = (definition: string, body: unknown) => string[];

/**
 * A validator over `definitions` (Ajv in strict mode, with the formats the spec uses).
 * @example createElectrumValidator(electrumSchema().definitions)('ErrorDetail', body) // [] when valid
 */
export function createElectrumValidator(definitions: Record<string, JsonSchema>, options: { strict?: boolean } = {}): ElectrumValidator {
  const ajv = new Ajv({ strict: options.strict ?? true, allErrors: true });
  // ajv-formats is CommonJS; its plugin function is the module's default export.
  const addFormats = (ajvFormats as unknown as { default: (a: Ajv) => Ajv }).default;
  addFormats(ajv);
  ajv.addSchema({ $id: 'electrum', definitions }, 'electrum');
  const cache = new Map<string, ValidateFunction>();
  return (definition, body) => {
    let validate = cache.get(definition);
    if (!validate) {
      validate = ajv.getSchema(`electrum#/definitions/${definition}`);
      if (!validate) throw new Error(`no definition ${definition} in the Electrum schema`);
      cache.set(definition, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
  };
}

let fromFixture: { validate: ElectrumValidator; operations: ElectrumOperation[] } | null = null;
const loaded = () => {
  if (!fromFixture) {
    const schema = electrumSchema();
    fromFixture = { validate: createElectrumValidator(schema.definitions), operations: Object.values(schema['x-operations']) };
  }
  return fromFixture;
};

/**
 * Validates `body` against `#/definitions/<definition>`; returns the errors (empty when valid).
 * @example expect(validateElectrum('ErrorDetail', body)).toEqual([]);
 */
export function validateElectrum(definition: string, body: unknown): string[] {
  return loaded().validate(definition, body);
}

/** Throws with Ajv's errors unless `body` is a valid `definition`. */
export function expectElectrum(definition: string, body: unknown): void {
  const errors = validateElectrum(definition, body);
  if (errors.length > 0) throw new Error(`not a valid Electrum ${definition}:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(body, null, 2)}`);
}

/** The operation served at `POST <path>` (`/qr/v1/scans`), as the fixture declares it. */
export function electrumOperation(path: string): ElectrumOperation {
  const op = loaded().operations.find((o) => o.method === 'POST' && o.path === path);
  if (!op) throw new Error(`no Electrum operation at POST ${path}`);
  return op;
}
