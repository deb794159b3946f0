// The browser scripts' build step, after tsc: bundles the virtual terminal (src/web/client/terminal-main.ts
// and the typed client it uses, clients/typescript) into <outDir>/web-assets/terminal.js, which the
// daemon serves (src/web/browser-bundle.ts). `node scripts/build-browser.mjs [outDir]`, dist/ by default.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const outDir = resolve(process.argv[2] ?? 'dist');
const { bundleBrowserScript } = await import(pathToFileURL(join(outDir, 'web', 'browser-bundle.js')).href);
mkdirSync(join(outDir, 'web-assets'), { recursive: true });
writeFileSync(join(outDir, 'web-assets', 'terminal.js'), bundleBrowserScript(resolve(import.meta.dirname, '..', 'src', 'web', 'client', 'terminal-main.ts')));
