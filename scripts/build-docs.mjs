// The contract's build step, after tsc: writes docs/openapi.json from the compiled code (the
// document GET /v1/openapi.json serves; test/unit/openapi.test.ts fails when the committed copy
// is stale) and copies Redoc's standalone bundle, which renders it at /docs, into <outDir>/docs-assets/.
// `node scripts/build-docs.mjs [outDir]`: outDir is dist/ unless given (scripts/package.mjs builds
// elsewhere, and then only the bundle is copied).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const outDir = process.argv[2] ?? 'dist';
const require = createRequire(import.meta.url);
const bundle = require.resolve('redoc/bundles/redoc.standalone.js');
mkdirSync(join(outDir, 'docs-assets'), { recursive: true });
copyFileSync(bundle, join(outDir, 'docs-assets', 'redoc.standalone.js'));
copyFileSync(`${bundle}.LICENSE.txt`, join(outDir, 'docs-assets', 'redoc.standalone.js.LICENSE.txt'));
copyFileSync(join(bundle, '..', '..', 'LICENSE'), join(outDir, 'docs-assets', 'redoc.LICENSE'));

if (process.argv[2] === undefined) {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
  const { terminalApiDocument, serializeDocument } = await import(pathToFileURL(resolve(outDir, 'terminals', 'openapi.js')).href);
  mkdirSync('docs', { recursive: true });
  writeFileSync(join('docs', 'openapi.json'), serializeDocument(terminalApiDocument(version)));
}
