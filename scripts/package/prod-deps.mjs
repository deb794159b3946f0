// The production dependencies of a checkout's node_modules, as `npm ci --omit=dev` would install
// them on linux-x64 with glibc, copied without the network: every package-lock.json entry not
// marked dev, except optional ones built for another platform. The native modules are the ones
// `npm ci` built (or downloaded) for this checkout and that its tests ran against.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PLATFORM = { os: 'linux', cpu: 'x64', libc: 'glibc' };

/** npm's rule for os/cpu/libc lists: a "!value" excludes, plain values allow. */
function allows(list, value) {
  if (!list || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  const positive = list.filter((v) => !v.startsWith('!'));
  return positive.length === 0 || positive.includes(value);
}

/**
 * Copies the production packages of `checkout`/node_modules into `target` (a node_modules folder).
 * @returns the names copied and the optional ones skipped (another platform, or not installed)
 * @example copyProductionDeps('.', 'stage/usr/lib/tenderbridge/node_modules')
 */
export function copyProductionDeps(checkout, target) {
  const lock = JSON.parse(readFileSync(join(checkout, 'package-lock.json'), 'utf8'));
  const copied = [];
  const skipped = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Top-level packages only: copying one copies the node_modules nested in it.
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) || entry.dev) continue;
    const name = path.slice('node_modules/'.length);
    const here = allows(entry.os, PLATFORM.os) && allows(entry.cpu, PLATFORM.cpu) && allows(entry.libc, PLATFORM.libc);
    const from = join(checkout, path);
    if (!here || (!existsSync(from) && entry.optional)) {
      skipped.push(name);
      continue;
    }
    if (!existsSync(from)) throw new Error(`${path} (a production dependency) is missing from ${checkout}: run npm ci there first`);
    const to = join(target, name);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    copied.push(name);
  }
  return { copied, skipped };
}

/**
 * better-sqlite3 is compiled at `npm ci`: its sources (the SQLite amalgamation), the build's
 * object files and its test extension are 25 MB that nothing loads. Only the addon is kept,
 * where its `bindings` lookup finds it.
 */
export function pruneNativeBuilds(nodeModules) {
  const pkg = join(nodeModules, 'better-sqlite3');
  const addon = join(pkg, 'build/Release/better_sqlite3.node');
  if (!existsSync(addon)) throw new Error(`${addon} is missing: better-sqlite3 was not built (npm ci)`);
  const kept = readFileSync(addon);
  for (const dir of ['deps', 'src', 'build']) rmSync(join(pkg, dir), { recursive: true, force: true });
  mkdirSync(dirname(addon), { recursive: true });
  writeFileSync(addon, kept, { mode: 0o644 });
}
