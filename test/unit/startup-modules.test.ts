import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The modules `src/main.ts` imports for their values (not `import type`), as paths. */
function mainImports(): string[] {
  const source = readFileSync(resolve(ROOT, 'src/main.ts'), 'utf8');
  return [...source.matchAll(/^import\s+(?!type\s)[^;]*?\sfrom\s+'(\.\/[^']+)';/gms)].map((m) => resolve(ROOT, 'src', (m[1] as string).replace(/\.js$/, '.ts')));
}

/**
 * Imports `modules` in a fresh Node (as the daemon's process would at start) and lists the
 * npm packages of `watched` whose CommonJS files were loaded.
 */
async function packagesLoadedBy(modules: string[], watched: string[]): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    for (const m of ${JSON.stringify(modules)}) await import(m);
    const files = Object.keys(require.cache);
    const loaded = ${JSON.stringify(watched)}.filter((p) => files.some((f) => f.includes('/node_modules/' + p + '/')));
    process.stdout.write(JSON.stringify(loaded));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(stdout) as string[];
}

describe("the daemon's start", () => {
  const heavy = ['sharp', 'pg', 'jsqr'];

  it('loads neither sharp (the QR worker does), nor pg on SQLite, nor the simulators until they are enabled', async () => {
    const imports = mainImports();
    expect(imports).toContain(resolve(ROOT, 'src/daemon.ts'));
    expect(await packagesLoadedBy(imports, heavy)).toEqual([]);
  });

  it('would see them if they were loaded', async () => {
    // The check's own control: modules that do load them are seen doing it.
    const loaders = ['src/qr/image-bytes.ts', 'src/shared/db/postgres/pool.ts'].map((p) => resolve(ROOT, p));
    expect(await packagesLoadedBy(loaders, heavy)).toEqual(['sharp', 'pg']);
  });
});
