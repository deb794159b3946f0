import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { bundleBrowserScript } from '../../src/web/browser-bundle.js';

it('bundles the typed client for the browser alone: no Node built-ins, nothing of the daemon but its erased types', () => {
  // esbuild's browser platform fails on any node: import; zod would come in with a value import of a schema.
  const js = bundleBrowserScript(fileURLToPath(new URL('../../clients/typescript/src/index.ts', import.meta.url)));
  expect(js).toContain('Idempotency-Key');
  expect(js).not.toMatch(/\bzod\b|ZodType|express/);
  expect(js.length).toBeLessThan(40_000);
});
