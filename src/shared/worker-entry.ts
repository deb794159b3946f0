import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A worker thread's entry `name` beside the module `here` (its `import.meta.url`): the compiled
 * `name.js`, or, when that module runs as TypeScript (tests, `tsx`), a bootstrap that registers
 * tsx in the worker and imports `name.ts`, because a worker does not inherit the loader of the
 * thread that starts it.
 * @example new Worker(workerEntry(import.meta.url, 'qr-worker'))
 */
export function workerEntry(here: string, name: string): URL {
  if (!here.endsWith('.ts')) return new URL(`./${name}.js`, here);
  const require = createRequire(here);
  const tsxPackage = require.resolve('tsx/package.json');
  const api = (JSON.parse(readFileSync(tsxPackage, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'];
  if (api === undefined) throw new Error('tsx has no ./esm/api export');
  const register = pathToFileURL(join(dirname(tsxPackage), api.import.default)).href;
  const entry = new URL(`./${name}.ts`, here).href;
  const source = `import { register } from ${JSON.stringify(register)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}
