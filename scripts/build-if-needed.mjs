// Runs `tsc` before `npm start` when dist/ is missing or older than any source file, so a
// fresh clone starts with one command and an unchanged tree starts without a rebuild.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const marker = 'dist/main.js';
const stale = !existsSync(marker) || Math.max(newest('src'), newest('clients/typescript/src')) > statSync(marker).mtimeMs || statSync('package.json').mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  console.error('building tenderbridge (dist/ is missing or out of date)...');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-info.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-docs.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-browser.mjs'], { stdio: 'inherit' });
}
