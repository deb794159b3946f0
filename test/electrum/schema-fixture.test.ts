import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FIXTURE_PATH, deriveElectrumSchema, fixtureText, type JsonSchema } from '../../scripts/electrum-schema.js';
import { createElectrumValidator, electrumSchema, electrumSpec } from '../support/swagger.js';
import { describeWhenAvailable } from '../support/system-tools.js';
import * as ex from './examples.js';

// The Electrum conformance checks validate against test/fixtures/electrum-qr-1.7.0.schema.json, our
// own facts derived from the published spec by scripts/electrum-schema.ts. The first suite checks the
// fixture on its own (every clone); the second, wherever the published spec is at hand (CI), proves
// the fixture is still what the spec gives and validates every message exactly as the spec does.

const schema = electrumSchema();
const property = (definition: string, name: string) => (schema.definitions[definition]?.['properties'] as Record<string, JsonSchema>)[name];

describe('the Electrum schema fixture', () => {
  it('compiles in strict mode, every definition and $ref resolving', () => {
    const validate = createElectrumValidator(schema.definitions);
    for (const name of Object.keys(schema.definitions)) expect(() => validate(name, {}), name).not.toThrow();
    for (const op of Object.values(schema['x-operations'])) {
      for (const name of [op.request, ...Object.values(op.responses)]) if (name) expect(schema.definitions, `${op.path} ${name}`).toHaveProperty(name);
    }
  });

  it('declares the five operations at the spec paths, with their success answers (notifyScan: 202, no body)', () => {
    const success = Object.fromEntries(
      Object.entries(schema['x-operations']).map(([id, op]) => {
        const ok = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
        return [id, `${op.method} ${op.path} ${op.request} -> ${ok.map(([status, body]) => `${status} ${body ?? 'no body'}`).join(', ')}`];
      }),
    );
    expect(success).toEqual({
      createQrCode: 'POST /qr/v1/qrCodes CreateQrCodeRequest -> 201 CreateQrCodeResponse',
      notifyScan: 'POST /qr/v1/scans ScanNotification -> 202 no body',
      pay: 'POST /qr/v1/payments PaymentRequest -> 201 PaymentResponse',
      confirmPayment: 'POST /qr/v1/payments/confirmations PaymentConfirmation -> 202 PaymentConfirmation',
      reversePayment: 'POST /qr/v1/payments/reversals PaymentReversal -> 202 PaymentReversal',
    });
    expect(schema['x-operations']['confirmPayment']?.responses['404']).toBe('ErrorDetail');
  });

  it('carries the errata: expiryDate an RFC 3339 string, ErrorDetail.id at most 20 characters, no Java time types', () => {
    expect(property('QrProperties', 'expiryDate')).toMatchObject({ type: 'string', format: 'date-time' });
    expect(property('ErrorDetail', 'id')).toMatchObject({ type: 'string', maxLength: 20 });
    expect(Object.keys(schema.definitions)).not.toContain('OffsetDateTime');
    expect(schema['x-errata'].map((e) => e.where)).toEqual(['definitions.QrProperties.properties.expiryDate', 'definitions.ErrorDetail.properties.id', 'x-operations.notifyScan.responses']);
  });

  it('keeps the facts and none of the prose', () => {
    expect(schema.definitions['PaymentRequest']?.['required']).toEqual(['amounts', 'client', 'id', 'originator', 'thirdPartyIdentifiers', 'time', 'tranId']);
    expect(property('Originator', 'terminalId')).toEqual({ type: 'string', minLength: 8, maxLength: 8 });
    expect(property('LedgerAmount', 'currency')).toEqual({ type: 'string', pattern: '[0-9]{3}' });
    expect(property('LedgerAmount', 'amount')).toEqual({ type: 'integer', format: 'int64' });
    expect((property('ErrorDetail', 'errorType')?.['enum'] as string[]).length).toBe(22);
    expect(readFileSync(FIXTURE_PATH, 'utf8')).not.toContain('"description"');
  });
});

/** Every body our suites exchange, as an example. */
const examples: Array<[string, unknown]> = [
  ['CreateQrCodeRequest', { ...ex.createQrCodeRequest(), customer: ex.customer }],
  ['CreateQrCodeResponse', ex.createQrCodeResponse()],
  ['ScanNotification', ex.scanNotification()],
  ['PaymentRequest', ex.paymentRequest()],
  ['PaymentResponse', ex.paymentResponse()],
  ['PaymentConfirmation', ex.paymentConfirmation()],
  ['PaymentReversal', ex.paymentReversal()],
  ['ErrorDetail', { id: 'abcdefghijklmnopqrst', originalId: 'x', errorType: 'GENERAL_ERROR', errorMessage: 'Oops', detailMessage: { reason: 'x' }, providerErrorCode: 'E1', tranId: ex.tranId }],
];

/** The example with each member, at every depth, removed, nulled, or given a value of another type, length or shape. */
function* variants(body: unknown): Generator<[string, unknown]> {
  const replacements = (value: unknown): unknown[] => {
    if (typeof value === 'string') return [42, '', 'x'.repeat(16), 'x'.repeat(41), 'ABC', '2026-11-21'];
    if (typeof value === 'number') return [1.5, '1', -1, 2 ** 40];
    if (typeof value === 'boolean') return ['yes'];
    if (Array.isArray(value)) return [{}, [{}], ['x']];
    return ['x', [], {}];
  };
  function* walk(node: unknown, path: string[], put: (v: unknown) => unknown): Generator<[string, unknown]> {
    for (const r of replacements(node)) yield [`${path.join('.')} = ${JSON.stringify(r)}`, put(r)];
    if (node && typeof node === 'object') {
      const entries: Array<[string, unknown]> = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
      const copyWith = (key: string, v: unknown, remove = false) => {
        const copy: Record<string, unknown> | unknown[] = Array.isArray(node) ? [...node] : { ...(node as Record<string, unknown>) };
        if (remove) delete (copy as Record<string, unknown>)[key];
        else (copy as Record<string, unknown>)[key] = v;
        return put(copy);
      };
      if (!Array.isArray(node)) yield [`${path.join('.')}.futureField added`, copyWith('futureField', 1)];
      for (const [key, value] of entries) {
        if (!Array.isArray(node)) yield [`${[...path, key].join('.')} removed`, copyWith(key, undefined, true)];
        yield [`${[...path, key].join('.')} = null`, copyWith(key, null)];
        yield* walk(value, [...path, key], (v) => copyWith(key, v));
      }
    }
  }
  yield ['as is', body];
  yield* walk(body, [], (v) => v);
}

describeWhenAvailable('the Electrum schema fixture against the published spec', [electrumSpec()], () => {
  const specPath = electrumSpec().path;
  const specText = () => readFileSync(specPath, 'utf8');

  it('is exactly what scripts/electrum-schema.ts derives from the spec (else: npx tsx scripts/electrum-schema.ts)', () => {
    const derived = fixtureText(deriveElectrumSchema(specText()));
    expect(JSON.parse(derived)).toEqual(schema);
    expect(derived === readFileSync(FIXTURE_PATH, 'utf8'), 'same facts, different text: regenerate the fixture').toBe(true);
  });

  it('accepts and refuses every message variant exactly as the published definitions do', () => {
    // The spec's own definitions, with the one erratum that changes validation patched by hand here
    // (independently of the script), compiled as the suites compiled them before the fixture existed.
    const definitions = structuredClone((parse(specText()) as { definitions: Record<string, JsonSchema> }).definitions);
    (definitions['QrProperties']?.['properties'] as Record<string, JsonSchema>)['expiryDate'] = { type: 'string', format: 'date-time' };
    const bySpec = createElectrumValidator(definitions, { strict: false });
    const byFixture = createElectrumValidator(schema.definitions);
    let checked = 0;
    let refused = 0;
    const disagreements: string[] = [];
    for (const [definition, example] of examples) {
      expect(bySpec(definition, example), definition).toEqual([]);
      for (const [change, body] of variants(example)) {
        const spec = bySpec(definition, body).length === 0;
        const ours = byFixture(definition, body).length === 0;
        checked += 1;
        if (!spec) refused += 1;
        if (spec !== ours) disagreements.push(`${definition} with ${change}: the spec ${spec ? 'accepts' : 'refuses'} it, the fixture ${ours ? 'accepts' : 'refuses'} it`);
      }
    }
    expect(disagreements).toEqual([]);
    // Enough of the variants are refused for the comparison to mean something.
    expect(checked).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(checked / 3);
  });
});
