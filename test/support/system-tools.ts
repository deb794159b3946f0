import { accessSync, constants } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Suites that need something npm does not install (a system tool, or the published Electrum spec
 * beside the checkout) say so here. Where it is missing they are skipped, with one line on stderr
 * naming what would enable them; under CI=true a missing prerequisite fails instead, because CI
 * (.ci/run) installs every one of them and a skip there would hide a suite.
 */

/** Something a suite needs that `npm install` does not provide. */
export interface Prerequisite {
  /** How the skip line names it: `/usr/bin/chromium (Debian package chromium)`. */
  readonly needs: string;
  readonly found: boolean;
}

const ROOT = resolve(import.meta.dirname, '../..');

/** The executable `command` resolves to (an absolute path as is, a bare name through `PATH`), or null. */
export function findExecutable(command: string, path = process.env['PATH'] ?? ''): string | null {
  const candidates = command.includes('/') ? [command] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return null;
}

/**
 * A system tool from a Debian package.
 * @example systemTool('openssl', 'openssl') // { needs: 'openssl (Debian package openssl)', found: true }
 */
export function systemTool(command: string, debianPackage: string): Prerequisite {
  return { needs: `${command} (Debian package ${debianPackage})`, found: findExecutable(command) !== null };
}

/** Debian's chromium, driven by playwright-core (no downloaded browser); CHROMIUM_PATH points elsewhere. */
export const chromiumPath = (): string => process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

export { POSTGRES_ROOT, postgresBinDir } from './postgres-bin.js';
import { POSTGRES_ROOT, postgresBinDir } from './postgres-bin.js';

/** The tools the suites use, each named with the Debian package that installs it (.ci/run installs them all: systemd, openssl, python3, prometheus, dpkg, lintian, binutils, chromium, postgresql, haproxy, iproute2). */
export const tools = {
  chromium: () => systemTool(chromiumPath(), 'chromium'),
  systemdAnalyze: () => systemTool('systemd-analyze', 'systemd'),
  systemdNotify: () => systemTool('systemd-notify', 'systemd'),
  openssl: () => systemTool('openssl', 'openssl'),
  python3: () => systemTool('python3', 'python3'),
  promtool: () => systemTool('promtool', 'prometheus'),
  dpkgDeb: () => systemTool('dpkg-deb', 'dpkg'),
  lintian: () => systemTool('lintian', 'lintian'),
  strip: () => systemTool('strip', 'binutils'),
  haproxy: () => systemTool('haproxy', 'haproxy'),
  ss: () => systemTool('ss', 'iproute2'),
  /** A PostgreSQL server the suite starts itself (test/support/postgres.ts). */
  postgres: (): Prerequisite => ({ needs: `${POSTGRES_ROOT}/<version>/bin/initdb (Debian package postgresql)`, found: postgresBinDir() !== null }),
};

/** CI=true (or any value but empty, 0 and false): prerequisites are required, never skipped. */
export const isCi = (env: NodeJS.ProcessEnv = process.env): boolean => !['', '0', 'false'].includes((env['CI'] ?? '').toLowerCase());

/**
 * What a suite with these prerequisites does: run, be skipped with `line`, or (under CI) fail with `line`.
 * @example planFor([systemTool('no-such-tool', 'nothing')], 'test/x.test.ts', false).line
 *   // 'skipped: test/x.test.ts needs no-such-tool (Debian package nothing)'
 */
export function planFor(needs: readonly Prerequisite[], file: string, ci: boolean): { mode: 'run' } | { mode: 'skip' | 'fail'; line: string } {
  const missing = needs.filter((n) => !n.found).map((n) => n.needs);
  if (missing.length === 0) return { mode: 'run' };
  const what = `${file} needs ${missing.join(' and ')}`;
  return ci ? { mode: 'fail', line: `CI=true and ${what}: in CI every suite runs, so it must be there (see .ci/run)` } : { mode: 'skip', line: `skipped: ${what}` };
}

const announced = new Set<string>();

/**
 * `describe(title, fn)` when every prerequisite is here. Otherwise the suite is skipped with one
 * line on stderr, or under CI=true replaced by one failing test that says what is missing.
 * @example describeWhenAvailable('in Chromium', [tools.chromium()], () => { it(...) });
 */
export function describeWhenAvailable(title: string, needs: readonly Prerequisite[], fn: () => void): void {
  const file = relative(ROOT, expect.getState().testPath ?? 'this file');
  const plan = planFor(needs, file, isCi());
  if (plan.mode === 'run') {
    describe(title, fn);
  } else if (plan.mode === 'fail') {
    describe(title, () => {
      it('has what it needs', () => {
        throw new Error(plan.line);
      });
    });
  } else {
    if (!announced.has(plan.line)) process.stderr.write(`${plan.line}\n`);
    announced.add(plan.line);
    describe.skip(title, fn);
  }
}
