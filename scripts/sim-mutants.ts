/**
 * Shows that the simulation finds each defect it is meant to catch: every mutant of
 * test/sim/mutants.ts is applied in a scratch git worktree (this checkout is never touched),
 * and the simulation runs there until a seed fails or the seeds run out.
 *   npm run test:sim:mutants -- --seeds=300
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MUTANTS } from '../test/sim/mutants.js';

const root = resolve(import.meta.dirname, '..');
const seeds = Number(process.argv.find((a) => a.startsWith('--seeds='))?.split('=')[1] ?? 300);
const only = process.argv.find((a) => a.startsWith('--only='))?.split('=')[1];
let survived = 0;
for (const mutant of MUTANTS.filter((m) => !only || m.name === only)) {
  const dir = mkdtempSync(join(tmpdir(), `tb-mutant-${mutant.name}-`));
  execFileSync('git', ['worktree', 'add', '--detach', dir, 'HEAD'], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const file = join(dir, mutant.file);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(mutant.find)) throw new Error(`mutant ${mutant.name}: the code it changes is no longer in ${mutant.file}; update test/sim/mutants.ts`);
    writeFileSync(file, text.replace(mutant.find, mutant.replace));
    const started = Date.now();
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/sim.ts', `--seeds=${seeds}`], { cwd: dir, encoding: 'utf8' });
    const out = `${run.stdout}${run.stderr}`;
    const first = /seed (\d+): \d+ problem\(s\)\n {2}(.*)/.exec(out);
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (first) {
      const failing = out.match(/seed \d+: \d+ problem/g)?.length ?? 0;
      console.log(`found     ${mutant.name.padEnd(26)} ${failing}/${seeds} seeds fail, e.g. seed ${first[1]}: ${first[2]?.slice(0, 140)} (${seconds} s)`);
    } else {
      survived += 1;
      console.log(`SURVIVED  ${mutant.name.padEnd(26)} ${seeds} seeds, none failed (${seconds} s): ${mutant.defect}`);
    }
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: root, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exitCode = survived > 0 ? 1 : 0;
