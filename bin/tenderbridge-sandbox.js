#!/usr/bin/env node
// `npx tenderbridge-sandbox` in a checkout: `tenderbridge sandbox` on its own. In a source
// checkout (src/ present) it builds dist/ first when missing or stale, like `npm start`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (existsSync(join(root, 'src')) && existsSync(join(root, 'scripts/build-if-needed.mjs'))) {
  // Its progress goes to stderr; stdout stays the sandbox's own (the --json line).
  execFileSync(process.execPath, [join(root, 'scripts/build-if-needed.mjs')], { cwd: root, stdio: ['ignore', 2, 'inherit'] });
}
process.argv.splice(2, 0, 'sandbox');
await import('../dist/cli/main.js');
