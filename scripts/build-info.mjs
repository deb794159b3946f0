// Records the commit a build was made from in dist/build-info.json (read by src/ops/build-info.ts),
// so a packaged daemon can say which commit it runs without git beside it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout (an unpacked release): the commit stays unknown
}
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist', { recursive: true });
writeFileSync('dist/build-info.json', `${JSON.stringify({ version, commit }, null, 2)}\n`);
