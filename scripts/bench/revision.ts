import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Progress } from './progress.js';

/**
 * Runs `npm <args>` in `cwd` in its own process group, so that `stop()` ends npm and what it
 * started (tsc, install scripts) together.
 */
function npm(args: string[], cwd: string, running: Set<ChildProcess>): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn('npm', args, { cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-4000);
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (code === 0) ok();
      else fail(new Error(`npm ${args.join(' ')} in ${cwd} failed (${signal ?? `exit ${code}`}): ${stderr}`));
    });
  });
}

/** Another revision of tenderbridge, checked out and built in a temporary worktree. */
export interface Revision {
  ref: string;
  commit: string;
  root: string;
  /** How its node_modules came to be: this checkout's, linked, or `npm ci` because the lock file differs. */
  modules: 'linked' | 'npm ci';
  /** Removes the worktree; safe to call twice. */
  remove(): void;
}

/**
 * Checks out `ref` of the repository at `repo` in a temporary detached worktree and builds
 * it (`npm run build`). Its node_modules is a link to this checkout's when both
 * package-lock.json files are the same, else installed there with `npm ci`. The worktree is
 * removed (and a build under way stopped) on any failure here, on SIGINT/SIGTERM, and by `remove()`.
 */
export async function prepareRevision(repo: string, ref: string, progress: Progress): Promise<Revision> {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: repo, encoding: 'utf8' }).trim();
  const root = mkdtempSync(join(tmpdir(), 'tenderbridge-bench-compare-'));
  let removed = false;
  const running = new Set<ChildProcess>();
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const child of running) {
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {
        // already gone
      }
    }
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    try {
      execFileSync('git', ['worktree', 'remove', '--force', root], { cwd: repo, stdio: 'ignore' });
    } catch {
      // not registered yet (git worktree add failed): the directory alone is left
    }
    rmSync(root, { recursive: true, force: true });
    execFileSync('git', ['worktree', 'prune'], { cwd: repo, stdio: 'ignore' });
  };
  // A bench interrupted half-way must not leave a worktree behind.
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    progress.step(`compare: checking out ${ref} (${commit.slice(0, 12)}) in ${root}`);
    execFileSync('git', ['worktree', 'add', '--detach', root, commit], { cwd: repo, stdio: 'ignore' });
    const lock = (dir: string) => (existsSync(join(dir, 'package-lock.json')) ? readFileSync(join(dir, 'package-lock.json'), 'utf8') : null);
    let modules: Revision['modules'] = 'linked';
    if (lock(repo) === lock(root)) {
      symlinkSync(realpathSync(resolve(repo, 'node_modules')), join(root, 'node_modules'), 'dir');
    } else {
      modules = 'npm ci';
      progress.step(`compare: package-lock.json differs at ${ref}, so running npm ci in the worktree`);
      await npm(['ci', '--no-audit', '--no-fund'], root, running);
    }
    progress.step(`compare: building ${ref} (npm run build)`);
    await npm(['run', 'build'], root, running);
    return { ref, commit, root, modules, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
