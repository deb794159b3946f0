import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/tenderbridge.js');

beforeAll(() => {
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does)');
});

const tb = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, TENDERBRIDGE_CONFIG: '' }, timeout: 20_000 });

describe('the built CLI as a process', () => {
  it('prints help and exits 0', () => {
    const run = tb('--help');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Usage: tenderbridge');
    expect(run.stdout).toContain('doctor');
  });

  it('exits 2 on an unknown command and 78 on a bad config', () => {
    expect(tb('nope').status).toBe(2);
    const bad = tb('config', 'check', '--config', 'does-not-exist.json');
    expect(bad.status).toBe(78);
    expect(bad.stderr).toContain('cannot read the file');
  });

  it('checks the shipped demo config', () => {
    const run = tb('config', 'check');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('config OK');
  });
});
