import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

// The repository stands alone (DESIGN, "Contracts"): a clone with nothing beside it builds, runs
// and passes its tests. A tripwire, not a proof: no string in the code may name a path that leaves
// the checkout, or the shared reference folder, except the one place that looks for the published
// Electrum spec to check the fixture against it (scripts/electrum-schema.ts).

const ROOT = resolve(import.meta.dirname, '../..');
const ALLOWED = new Set(['scripts/electrum-schema.ts']);
const CODE = /\.(ts|mts|js|mjs|cjs|json)$/;
// Spelt in two parts so that this file does not trip its own check.
const REFERENCE_FOLDER = ['shared', 'reference'].join('/');

function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && CODE.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The string literals of a source file (quotes and template literals), close enough for a tripwire. */
const literals = (text: string): string[] => [...text.matchAll(/(['"`])((?:\\.|(?!\1)[^\\\n])*)\1/g)].map((m) => m[2] ?? '');

describe('the repository stands alone', () => {
  it('names no path outside the checkout in src/, test/, scripts/, bin/ or the root config files', () => {
    const files = [...['src', 'test', 'scripts', 'bin', 'config'].flatMap(filesUnder), 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'eslint.config.js', 'vitest.config.ts', 'vitest.bench-smoke.config.ts', 'vitest.screenshots.config.ts'];
    expect(files.length).toBeGreaterThan(100);
    const outside: string[] = [];
    for (const file of files) {
      if (ALLOWED.has(file)) continue;
      for (const literal of literals(readFileSync(join(ROOT, file), 'utf8'))) {
        const leaves = literal.startsWith('../') && !`${resolve(ROOT, dirname(file), literal)}${sep}`.startsWith(`${ROOT}${sep}`);
        if (leaves || literal.includes(REFERENCE_FOLDER)) outside.push(`${file}: '${literal}'`);
      }
    }
    expect(outside).toEqual([]);
  });
});
