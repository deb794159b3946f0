import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findExecutable, isCi, planFor, postgresBinDir, systemTool, tools } from '../support/system-tools.js';

// The helper every suite that needs a system tool goes through: where it finds a tool, and the
// one line it prints (or, under CI=true, the failure it raises) when the tool is missing.

const dir = mkdtempSync(join(tmpdir(), 'tenderbridge-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('system tools', () => {
  it('finds a tool through PATH or at an absolute path, and only when it is executable', () => {
    writeFileSync(join(dir, 'fake-tool'), '#!/bin/sh\n');
    writeFileSync(join(dir, 'not-executable'), '');
    chmodSync(join(dir, 'fake-tool'), 0o755);
    expect(findExecutable('fake-tool', `/nonexistent:${dir}`)).toBe(join(dir, 'fake-tool'));
    expect(findExecutable(join(dir, 'fake-tool'), '')).toBe(join(dir, 'fake-tool'));
    expect(findExecutable('not-executable', dir)).toBeNull();
    expect(findExecutable('fake-tool', '/nonexistent')).toBeNull();
  });

  it('skips outside CI with one line naming the Debian package, and fails under CI', () => {
    const missing = [systemTool('/nonexistent/chromium', 'chromium'), systemTool('node-is-here-but-this-is-not', 'openssl')];
    expect(planFor(missing, 'test/web/browser.test.ts', false)).toEqual({
      mode: 'skip',
      line: 'skipped: test/web/browser.test.ts needs /nonexistent/chromium (Debian package chromium) and node-is-here-but-this-is-not (Debian package openssl)',
    });
    expect(planFor(missing.slice(0, 1), 'test/web/browser.test.ts', true)).toEqual({
      mode: 'fail',
      line: 'CI=true and test/web/browser.test.ts needs /nonexistent/chromium (Debian package chromium): in CI every suite runs, so it must be there (see .ci/run)',
    });
    expect(planFor([{ needs: 'x', found: true }], 'f', true)).toEqual({ mode: 'run' });
  });

  it('finds the newest PostgreSQL server under Debian\'s /usr/lib/postgresql/<major>/bin, and names the package when there is none', () => {
    const root = join(dir, 'postgresql');
    expect(postgresBinDir(root)).toBeNull();
    for (const version of ['9.6', '13', '15', '16']) mkdirSync(join(root, version, 'bin'), { recursive: true });
    for (const version of ['9.6', '13', '15']) for (const tool of ['initdb', 'postgres']) writeFileSync(join(root, version, 'bin', tool), '');
    // 16 has no server binaries (only its client package): not a server to start
    expect(postgresBinDir(root)).toBe(join(root, '15', 'bin'));
    expect(tools.postgres().needs).toBe('/usr/lib/postgresql/<version>/bin/initdb (Debian package postgresql)');
  });

  it('reads CI as CI services set it', () => {
    for (const value of ['true', '1', 'TRUE', 'yes']) expect(isCi({ CI: value }), value).toBe(true);
    for (const value of [undefined, '', '0', 'false']) expect(isCi(value === undefined ? {} : { CI: value }), String(value)).toBe(false);
  });
});
