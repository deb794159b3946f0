import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';

/**
 * The virtual terminal's script: src/web/client/terminal-main.ts with what it imports (the
 * typed client of clients/typescript) bundled for the browser. The build writes it to
 * dist/web-assets/terminal.js (scripts/build-browser.mjs); a checkout running from src/ (the
 * tests, `npm run dev`) bundles it when the daemon starts, with esbuild from node_modules.
 * The browser code is not compiled by tsconfig.build.json: Node never runs it.
 */

/** The bundle's entry in a checkout (from src/web/ and from dist/web/ alike). */
export const TERMINAL_ENTRY = fileURLToPath(new URL('../../src/web/client/terminal-main.ts', import.meta.url));

/**
 * Bundles `entry` for the browser (one IIFE script, ES2022, no Node built-ins), with the esbuild
 * of the checkout `entry` is in. Throws with esbuild's messages when it does not build.
 * @example writeFileSync('dist/web-assets/terminal.js', bundleBrowserScript(TERMINAL_ENTRY))
 */
export function bundleBrowserScript(entry: string): string {
  const esbuild = createRequire(entry)('esbuild') as typeof Esbuild;
  const out = esbuild.buildSync({ entryPoints: [entry], bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, legalComments: 'none', logLevel: 'silent' });
  const file = out.outputFiles[0];
  if (!file) throw new Error(`esbuild wrote nothing for ${entry}`);
  return file.text;
}

let bundled: string | null = null;

/**
 * The terminal's script: the built one (dist/web-assets/terminal.js), else bundled from the
 * checkout's sources (once per process). Null when neither is there (a dist/ built by tsc alone).
 * @example res.type('js').send(terminalScript() ?? '')
 */
export function terminalScript(): string | null {
  const built = fileURLToPath(new URL('../web-assets/terminal.js', import.meta.url));
  if (existsSync(built)) return readFileSync(built, 'utf8');
  if (!existsSync(TERMINAL_ENTRY)) return null;
  bundled ??= bundleBrowserScript(TERMINAL_ENTRY);
  return bundled;
}
