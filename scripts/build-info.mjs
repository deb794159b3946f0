// Records the commit a build was made from in dist/build-info.json (read by src/ops/build-info.ts),
// so a packaged daemon can say which commit it runs without git beside it.
// `node scripts/build-info.mjs [outDir]`: outDir is dist/ unless given (scripts/package.mjs builds elsewhere).
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout (an unpacked release): the commit stays unknown
}
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const outDir = process.argv[2] ?? 'dist';
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'build-info.json'), `${JSON.stringify({ version, commit }, null, 2)}\n`);
