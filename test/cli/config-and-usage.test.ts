import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { baseConfig, runTb, tempDir, writeConfig } from './support.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tenderbridge config check', () => {
  it('says "config OK" with a masked summary, never printing a secret', async () => {
    const path = writeConfig(dir, baseConfig(dir));
    const run = await runTb(['config', 'check', '--config', path]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`config OK: ${path}`);
    expect(run.stdout).toMatch(/1 merchant\(s\), 2 store\(s\), 0 terminal\(s\)/);
    expect(run.stdout).toContain('[inline secret]');
    expect(run.stdout).not.toContain('test-client-secret-never-logged');
  });

  it('finds the config through TENDERBRIDGE_CONFIG, relative to the working directory', async () => {
    writeConfig(dir, baseConfig(dir), 'from-env.json');
    const run = await runTb(['config', 'check', '--json'], { env: { TENDERBRIDGE_CONFIG: 'from-env.json' }, cwd: dir });
    expect(run.code).toBe(0);
    const out = run.json<{ ok: boolean; file: string; summary: { stores: number }; config: { merchants: Array<{ clientSecret: string }> } }>();
    expect(out).toMatchObject({ ok: true, summary: { stores: 2 } });
    expect(out.file).toMatch(/from-env\.json$/);
    expect(out.config.merchants[0]?.clientSecret).toBe('[inline secret]');
  });

  it('prints every problem and exits 78', async () => {
    const bad = baseConfig(dir, {
      stores: [{ id: 'S1', name: 'Test Store', merchant: 'nobody' }],
      terminals: [{ id: 'T1', store: 'S9', apiKey: 'k' }],
      payments: { orderTtlSeconds: 1 },
    });
    const run = await runTb(['config', 'check', '--config', writeConfig(dir, bad, 'bad.json')]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('3 problem(s)');
    expect(run.stderr).toContain('stores[0].merchant: no merchant "nobody"');
    expect(run.stderr).toContain('terminals[0].store: no store "S9"');
    expect(run.stderr).toContain('payments.orderTtlSeconds');
  });

  it('reports unresolvable secrets and unreadable files as problems too (exit 78, JSON for scripts)', async () => {
    const bad = baseConfig(dir);
    (bad['merchants'] as Array<Record<string, unknown>>)[0]!['clientSecret'] = { env: 'NOT_SET_ANYWHERE' };
    const run = await runTb(['--json', 'config', 'check', '--config', writeConfig(dir, bad, 'secret.json')]);
    expect(run.code).toBe(78);
    expect(run.json()).toMatchObject({ ok: false, problems: ['merchants[0].clientSecret: environment variable NOT_SET_ANYWHERE is not set'] });
    const missing = await runTb(['config', 'check', '--config', 'nope.json'], { cwd: dir });
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('cannot read the file');
  });

  it('exits 78 from any command that needs a bad config', async () => {
    const run = await runTb(['terminals', 'list', '--config', writeConfig(dir, { merchants: [] }, 'empty.json')]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('needs at least one merchant');
  });
});

describe('command-line usage', () => {
  it('answers an unknown command with exit 2 and the help', async () => {
    const run = await runTb(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    expect(run.stderr).toContain('Usage: tenderbridge');
  });

  it('answers a missing required option, a bad choice and a bare command group with exit 2', async () => {
    expect((await runTb(['terminals', 'add', 'T1'])).code).toBe(2);
    const badAction = await runTb(['payments', 'resolve', 'x', '--action', 'explode', '--by', 'a', '--reason', 'b']);
    expect(badAction.code).toBe(2);
    expect(badAction.stderr).toContain('Allowed choices are cancel, refund, mark-reviewed');
    const bare = await runTb(['payments']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('resolve');
  });

  it('prints help with examples and exits 0', async () => {
    const top = await runTb(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Exit codes: 0 ok, 1 failure, 2 usage error, 78 bad config');
    for (const argv of [['terminals', 'add', '--help'], ['payments', 'list', '--help'], ['report', '--help'], ['db', 'backup', '--help'], ['doctor', '--help'], ['config', 'check', '--help'], ['help', 'payments']]) {
      const run = await runTb(argv);
      expect(run.code, argv.join(' ')).toBe(0);
      if (argv[0] !== 'help') expect(run.stdout, argv.join(' ')).toContain('Examples:');
    }
  });
});
