import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startHarness, type Harness } from '../support/harness.js';
import { baseConfig, harnessConfig, runTb, tempDir, writeConfig } from './support.js';

let h: Harness;
let dir: string;

beforeAll(async () => {
  h = await startHarness();
  dir = tempDir();
});
afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Doctor = { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };
const check = (doc: Doctor, name: string) => doc.checks.find((c) => c.name === name);

describe('tenderbridge doctor', () => {
  it('reports every check ok against a healthy daemon and the PartPay simulator', async () => {
    const run = await runTb(['doctor', '--config', harnessConfig(h, dir)]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const name of ['config', 'database opens', 'database integrity', 'database schema', 'database writable', 'clock', 'partpay token (m1)', 'callback url', 'outbox dead letters']) {
      expect(run.stdout).toMatch(new RegExp(`^ok +${name.replace(/[()]/g, '\\$&')} `, 'm'));
    }
    expect(run.stdout).toContain('healthy');
    expect(run.stdout).not.toContain('test-client-secret-never-logged');
  });

  it('fails the token check with PartPay\'s answer when the secret is wrong (exit 1)', async () => {
    const run = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir, { clientSecret: 'wrong-secret' })]);
    expect(run.code).toBe(1);
    const doc = run.json<Doctor>();
    expect(doc.ok).toBe(false);
    expect(check(doc, 'partpay token (m1)')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/401.*invalid_client/) });
    expect(check(doc, 'database opens')?.status).toBe('ok');
  });

  it('warns when the system clock is off from PartPay\'s by more than 5 seconds', async () => {
    const run = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir)], { clock: () => Date.now() + 42_000 });
    expect(check(run.json<Doctor>(), 'clock')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/4[12]\.\d s ahead of PartPay/) });
  });

  it('fails on a missing database without creating it, and hints at a callback URL PartPay cannot reach', async () => {
    const closed = await freePort();
    const config = baseConfig(dir, {
      database: { path: join(dir, 'missing', 'tb.db') },
      partpay: { tokenUrl: `http://127.0.0.1:${closed}/oauth/token`, audience: 'a', apiBaseUrl: 'https://api.partpay.example/api', callbackUrl: 'http://127.0.0.1:8480/partpay/callback' },
    });
    const run = await runTb(['doctor', '--json', '--config', writeConfig(dir, config, 'prod-like.json')]);
    expect(run.code).toBe(1);
    const doc = run.json<Doctor>();
    expect(check(doc, 'database opens')).toMatchObject({ status: 'fail', detail: expect.stringContaining('does not exist') });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(check(doc, 'callback url')).toMatchObject({ status: 'warn', detail: expect.stringContaining('loopback') });
    expect(check(doc, 'partpay token (m1)')).toMatchObject({ status: 'fail', detail: expect.stringContaining('ECONNREFUSED') });
    expect(check(doc, 'clock')?.status).toBe('warn');
  });

  it('fails on a bad config with the problems', async () => {
    const run = await runTb(['doctor', '--config', writeConfig(dir, { merchants: [] }, 'bad.json')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAIL +config +invalid config/m);
  });

  it('fails when owed deliveries became dead letters', async () => {
    const id = h.daemon.outbox.enqueue('partpay.cancel', null, { orderId: 'x' }, Date.now());
    h.daemon.outbox.markDead(id, 'gave up', Date.now());
    const run = await runTb(['doctor', '--config', harnessConfig(h, dir)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAIL +outbox dead letters +1 owed/m);
  });
});
