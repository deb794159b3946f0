import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// Issue 17 item 6: with TLS on, TLS 1.2 still accepted suites without forward secrecy
// (AES256-SHA, AES128-SHA, AES256-GCM-SHA384) and CBC with SHA-1. The default is now Mozilla's
// "intermediate" profile narrowed to ECDHE + AEAD: TLS 1.2 and 1.3, forward secrecy, AEAD only.

/**
 * What `openssl s_client` negotiates with these options, or null when the handshake fails.
 * Asynchronous: the daemon answering it runs in this process.
 */
function negotiate(url: string, options: string[]): Promise<string | null> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...options], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      const cipher = /Cipher is (\S+)/.exec(out)?.[1];
      resolve(code === 0 && cipher !== undefined && cipher !== '(NONE)' ? cipher : null);
    });
  });
}

describeWhenAvailable('the TLS policy of the listeners', [tools.openssl()], () => {
  let dir: string;
  let tls: { certFile: string; keyFile: string };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tb-tls-policy-'));
    tls = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', tls.keyFile, '-out', tls.certFile], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses TLS 1.2 suites without forward secrecy or AEAD, and TLS 1.1, by default', async () => {
    const h: Harness = await startHarness({ config: { server: { tls } } });
    try {
      for (const weak of ['AES256-SHA', 'AES128-SHA', 'AES256-GCM-SHA384', 'AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384']) {
        expect(await negotiate(h.url, ['-tls1_2', '-cipher', weak]), weak).toBeNull();
      }
      expect(await negotiate(h.url, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), 'TLS 1.1').toBeNull();
      for (const strong of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
        expect(await negotiate(h.url, ['-tls1_2', '-cipher', strong]), strong).toBe(strong);
      }
      expect(await negotiate(h.url, ['-tls1_3'])).toMatch(/^TLS_/);
    } finally {
      await h.stop();
    }
  });

  it('takes minVersion and ciphers from the config', async () => {
    const h: Harness = await startHarness({ config: { server: { tls: { ...tls, minVersion: 'TLSv1.3' } } } });
    try {
      expect(await negotiate(h.url, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'])).toBeNull();
      expect(await negotiate(h.url, ['-tls1_3'])).toMatch(/^TLS_/);
    } finally {
      await h.stop();
    }
    const only = await startHarness({ config: { server: { tls: { ...tls, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' } } } });
    try {
      expect(await negotiate(only.url, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'])).toBeNull();
      expect(await negotiate(only.url, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384'])).toBe('ECDHE-RSA-AES256-GCM-SHA384');
    } finally {
      await only.stop();
    }
  });
});
