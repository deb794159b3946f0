import { describe, expect, it } from 'vitest';
import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import { credentialKey } from '../../src/shared/http/auth-failure-limits.js';

describe('credential keys for the failed-authentication limiter', () => {
  it('gives wrong passwords for a user a different key from the right one', () => {
    const right = credentialKey(basicAuthHeader('pos-1', 'pos-1-secret'));
    const wrong = credentialKey(basicAuthHeader('pos-1', 'guess'));
    expect(right).not.toBe(wrong);
    expect(right).toMatch(/^basic:pos-1:[0-9a-f]{16}$/);
  });

  it('gives the same user and password one key however the header spells them', () => {
    const encoded = Buffer.from('pos-1:s3cret!', 'utf8').toString('base64'); // ends in '=' padding
    expect(encoded.endsWith('=')).toBe(true);
    const key = credentialKey(`Basic ${encoded}`);
    expect(credentialKey(`basic  ${encoded}`)).toBe(key);
    expect(credentialKey(`Basic ${encoded.replace(/=+$/, '')}`)).toBe(key);
  });

  it('never contains the secret, in clear or encoded', () => {
    for (const header of [basicAuthHeader('partner-a', 'hunter2-very-secret'), 'Bearer terminal-key-very-secret']) {
      const key = credentialKey(header) ?? '';
      expect(key).not.toContain('very-secret');
      expect(key).not.toContain(header.split(' ')[1]);
    }
  });

  it('keys bearer tokens on a hash of the token, one key per token', () => {
    const a = credentialKey('Bearer key-a');
    expect(a).toMatch(/^bearer:[0-9a-f]{16}$/);
    expect(credentialKey('Bearer key-a')).toBe(a);
    expect(credentialKey('Bearer key-b')).not.toBe(a);
  });

  it('has no key when no credential is presented', () => {
    expect(credentialKey(undefined)).toBeNull();
    expect(credentialKey('')).toBeNull();
  });
});
