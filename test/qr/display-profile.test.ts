import { describe, expect, it } from 'vitest';
import { applyOverrides, displayProfileSchema, parseProfileOverrides, profileKey } from '../../src/qr/display-profile.js';
import { ValidationError } from '../../src/shared/errors.js';

function messagesOf(input: unknown): string[] {
  const result = displayProfileSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('display profile', () => {
  it('fills every default from an empty object', () => {
    expect(displayProfileSchema.parse({})).toEqual({ format: 'png', size: 320, margin: 16, colour: 'greyscale', quality: 85 });
  });

  it.each([
    [{ format: 'gif' }, 'format: must be one of png, jpeg, webp'],
    [{ size: 63 }, 'size: must be at least 64'],
    [{ size: 2049 }, 'size: must be at most 2048'],
    [{ size: 320.5 }, 'size: must be an integer'],
    [{ margin: -1 }, 'margin: must be at least 0'],
    [{ margin: 257 }, 'margin: must be at most 256'],
    [{ colour: 'sepia' }, 'colour: must be one of colour, greyscale, mono'],
    [{ quality: 0 }, 'quality: must be at least 1'],
    [{ quality: 101 }, 'quality: must be at most 100'],
  ])('rejects %j naming the field', (input, message) => {
    expect(messagesOf(input)).toContain(message);
  });

  it('rejects a margin that leaves too little room for the code', () => {
    expect(messagesOf({ size: 64, margin: 17 })[0]).toMatch(/^margin: margin 17 leaves 30px for the code at size 64/);
  });

  it('rejects unknown keys so config typos fail fast', () => {
    expect(messagesOf({ sise: 100 }).join()).toMatch(/sise/);
  });

  it('gives equal keys for equal profiles and ignores quality for png', () => {
    const a = displayProfileSchema.parse({ quality: 10 });
    const b = displayProfileSchema.parse({ quality: 90 });
    expect(profileKey(a)).toBe('png-320-m16-greyscale');
    expect(profileKey(a)).toBe(profileKey(b));
    const j1 = displayProfileSchema.parse({ format: 'jpeg', quality: 10 });
    const j2 = displayProfileSchema.parse({ format: 'jpeg', quality: 90 });
    expect(profileKey(j1)).not.toBe(profileKey(j2));
    expect(profileKey(displayProfileSchema.parse({ colour: 'mono' }))).not.toBe(profileKey(a));
  });
});

describe('query-string overrides', () => {
  const base = displayProfileSchema.parse({});

  it('coerces strings and applies them', () => {
    const overrides = parseProfileOverrides({ format: 'webp', size: '480', margin: '0', colour: 'mono', other: 'x' });
    expect(overrides).toEqual({ format: 'webp', size: 480, margin: 0, colour: 'mono' });
    expect(applyOverrides(base, overrides)).toEqual({ format: 'webp', size: 480, margin: 0, colour: 'mono', quality: 85 });
  });

  it('keeps the profile when nothing is overridden', () => {
    expect(applyOverrides(base, parseProfileOverrides({}))).toEqual(base);
  });

  it.each([
    [{ size: 'big' }, /size: must be a whole number/],
    [{ size: '12' }, /size: must be at least 64/],
    [{ size: '-5' }, /size: must be a whole number/],
    [{ margin: '1e2' }, /margin: must be a whole number/],
    [{ format: 'gif' }, /format: must be one of png, jpeg, webp/],
    [{ colour: 'red' }, /colour: must be one of colour, greyscale, mono/],
    [{ size: ['320', '480'] }, /size: must be given once/],
  ])('rejects %j with a ValidationError naming the field', (query, message) => {
    const attempt = () => parseProfileOverrides(query);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
  });

  it('re-validates the merged profile', () => {
    const small = displayProfileSchema.parse({ size: 64, margin: 0 });
    expect(() => applyOverrides(small, { margin: 20 })).toThrow(/margin: margin 20 leaves 24px/);
  });
});
