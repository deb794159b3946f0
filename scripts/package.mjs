// `npm run package`: the Debian package store IT installs offline, and a .tar.gz of the same tree.
//
//   artifacts/tenderbridge_<version>_amd64.deb
//   artifacts/tenderbridge-<version>-linux-x64.tar.gz   (the same files under tenderbridge-<version>-linux-x64/)
//
// The tree: /usr/lib/tenderbridge/{dist,bin,node_modules,package.json} (dist/ compiled afresh from
// src/ into the package, never the checkout's dist/; node_modules the production dependencies of
// this checkout, whose native modules npm built for linux-x64 glibc), /usr/bin/tenderbridge (the
// CLI), the unit in /lib/systemd/system, the sysusers and tmpfiles entries in /usr/lib, the
// commented /etc/tenderbridge/config.json (a conffile) and /usr/share/doc/tenderbridge.
// Needs dpkg-deb, tar and strip (binutils); no network. DEBFULLNAME and DEBEMAIL name the maintainer.
//
//   node scripts/package.mjs [--out DIR]     (artifacts/ by default)
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { copyProductionDeps, pruneNativeBuilds } from './package/prod-deps.mjs';

const root = resolve(import.meta.dirname, '..');
const started = Date.now();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = pkg.version;
const outFlag = process.argv.indexOf('--out');
const out = outFlag === -1 ? join(root, 'artifacts') : resolve(process.argv[outFlag + 1] ?? '');
if (outFlag !== -1 && !process.argv[outFlag + 1]) throw new Error('package: --out needs a directory');
const stage = join(out, `.stage-${process.pid}`);
const APP = 'usr/lib/tenderbridge';
const maintainer = `${process.env.DEBFULLNAME || 'tenderbridge maintainers'} <${process.env.DEBEMAIL || 'tenderbridge@example.com'}>`;
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const at = (path) => join(stage, path);
const put = (path, content, mode = 0o644) => {
  mkdirSync(dirname(at(path)), { recursive: true });
  writeFileSync(at(path), content, { mode });
  chmodSync(at(path), mode);
};
/** `text` with `from` replaced, failing loudly when the source no longer says `from`. */
const rewrite = (text, from, to, file) => {
  if (!text.includes(from)) throw new Error(`package: ${file} no longer contains ${JSON.stringify(from)}; update scripts/package.mjs`);
  return text.replaceAll(from, to);
};

// The release date: the commit's (reproducible), else now.
let epoch = Number(process.env.SOURCE_DATE_EPOCH);
if (!Number.isFinite(epoch) || epoch <= 0) {
  try {
    epoch = Number(git('log', '-1', '--format=%ct'));
  } catch {
    epoch = Math.floor(Date.now() / 1000);
  }
}

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
try {
  // ---- the app ------------------------------------------------------------------------------
  console.log(`package: compiling src/ into ${APP}/dist`);
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', at(`${APP}/dist`)]);
  run(process.execPath, [join(root, 'scripts/build-info.mjs'), at(`${APP}/dist`)]);
  run(process.execPath, [join(root, 'scripts/build-docs.mjs'), at(`${APP}/dist`)]);
  run(process.execPath, [join(root, 'scripts/build-browser.mjs'), at(`${APP}/dist`)]);
  put(`${APP}/bin/tenderbridge.js`, readFileSync(join(root, 'bin/tenderbridge.js')), 0o755);
  // What Node reads of package.json at run time ("type": "module") and what --version prints.
  put(`${APP}/package.json`, `${JSON.stringify({ name: pkg.name, version, description: pkg.description, license: pkg.license, private: true, type: pkg.type, engines: pkg.engines, dependencies: pkg.dependencies }, null, 2)}\n`);
  const deps = copyProductionDeps(root, at(`${APP}/node_modules`));
  pruneNativeBuilds(at(`${APP}/node_modules`));
  removeDotfiles(at(`${APP}/node_modules`));
  // Debug symbols are 10 MB of better-sqlite3's addon (sharp's prebuilt ones come stripped).
  run('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', at(`${APP}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`)]);
  console.log(`package: ${deps.copied.length} production packages; skipped ${deps.skipped.length} optional ones for other platforms`);

  // ---- the CLI: /etc/tenderbridge/config.json unless --config or $TENDERBRIDGE_CONFIG says otherwise
  put(
    'usr/bin/tenderbridge',
    `#!/bin/sh
# tenderbridge command for store IT (tenderbridge --help). Uses the installed service's config,
# /etc/tenderbridge/config.json, unless --config FILE or $TENDERBRIDGE_CONFIG names another.
# Run it as the service user to reach the database: sudo -u tenderbridge tenderbridge doctor
set -e
: "\${TENDERBRIDGE_CONFIG:=/etc/tenderbridge/config.json}"
export TENDERBRIDGE_CONFIG
here=$(dirname "$(readlink -f "$0")")
node=/usr/bin/node
[ -x "$node" ] || node=node
exec "$node" "$here/../lib/tenderbridge/bin/tenderbridge.js" "$@"
`,
    0o755,
  );

  // ---- systemd, config ----------------------------------------------------------------------
  let unit = readFileSync(join(root, 'systemd/tenderbridge.service'), 'utf8');
  unit = rewrite(unit, '# Installed by scripts/install.sh to /etc/systemd/system/tenderbridge.service.', '# Installed by the tenderbridge Debian package as /lib/systemd/system/tenderbridge.service.', 'the unit');
  unit = rewrite(unit, 'Documentation=file:///opt/tenderbridge/README.md', 'Documentation=file:///usr/share/doc/tenderbridge/README.md.gz', 'the unit');
  unit = rewrite(unit, 'ExecStart=/usr/bin/node /opt/tenderbridge/dist/main.js', `ExecStart=/usr/bin/node /${APP}/dist/main.js`, 'the unit');
  put('lib/systemd/system/tenderbridge.service', unit);
  const sysusers = readFileSync(join(root, 'systemd/tenderbridge.sysusers'), 'utf8');
  put('usr/lib/sysusers.d/tenderbridge.conf', rewrite(sysusers, '(installed as /etc/sysusers.d/tenderbridge.conf)', '(installed as /usr/lib/sysusers.d/tenderbridge.conf by the Debian package, applied by its postinst)', 'systemd/tenderbridge.sysusers'));
  put('usr/lib/tmpfiles.d/tenderbridge.conf', readFileSync(join(root, 'systemd/tenderbridge.tmpfiles')));
  put('etc/tenderbridge/config.json', readFileSync(join(root, 'config/example.json')));

  // ---- documentation ------------------------------------------------------------------------
  const doc = 'usr/share/doc/tenderbridge';
  const gz = (buf) => gzipSync(buf, { level: 9 });
  put(`${doc}/README.md.gz`, gz(readFileSync(join(root, 'README.md'))));
  put(`${doc}/CHANGELOG.md.gz`, gz(readFileSync(join(root, 'CHANGELOG.md'))));
  put(`${doc}/copyright`, readFileSync(join(root, 'packaging/debian/copyright')));
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000');
  put(`${doc}/changelog.gz`, gz(Buffer.from(`tenderbridge (${version}) stable; urgency=medium\n\n  * tenderbridge ${version}: see /${doc}/CHANGELOG.md.gz.\n\n -- ${maintainer}  ${date}\n`)));
  put('usr/share/man/man1/tenderbridge.1.gz', gz(readFileSync(join(root, 'packaging/debian/tenderbridge.1'))));
  put('usr/share/lintian/overrides/tenderbridge', readFileSync(join(root, 'packaging/debian/lintian-overrides')));

  // Modes as Debian wants them, whatever the checkout's umask: directories 0755, files 0644,
  // executables (ELF or #!) 0755 and nothing else executable.
  normaliseModes(stage);

  // ---- DEBIAN/ --------------------------------------------------------------------------------
  const files = listFiles(stage);
  const installedKb = Math.ceil(files.reduce((sum, f) => sum + lstatSync(at(f)).size, 0) / 1024);
  put(
    'DEBIAN/control',
    `Package: tenderbridge
Version: ${version}
Architecture: amd64
Maintainer: ${maintainer}
Installed-Size: ${installedKb}
Depends: nodejs (>= 20.19), libc6 (>= ${glibcNeeded(files)})
Section: net
Priority: optional
Description: in-store payment middleware for PartPay and Electrum QR payments
 tenderbridge runs as a hardened systemd service between a store's payment
 terminals and the QR payment providers: PartPay terminal orders and the
 Electrum QR Payment Service Interface. It keeps every payment in a local
 SQLite database and comes with a command, tenderbridge, for store IT.
 .
 The package carries its Node.js dependencies, native modules included, so
 installing it needs nothing from the network.
`,
  );
  put('DEBIAN/conffiles', '/etc/tenderbridge/config.json\n');
  for (const script of ['postinst', 'prerm', 'postrm']) put(`DEBIAN/${script}`, readFileSync(join(root, 'packaging/debian', script)), 0o755);
  put('DEBIAN/md5sums', files.filter((f) => !f.startsWith('etc/') && !lstatSync(at(f)).isSymbolicLink()).map((f) => `${createHash('md5').update(readFileSync(at(f))).digest('hex')}  ${f}\n`).join(''));

  // ---- the artifacts ------------------------------------------------------------------------
  mkdirSync(out, { recursive: true });
  const deb = join(out, `tenderbridge_${version}_amd64.deb`);
  const tarball = join(out, `tenderbridge-${version}-linux-x64.tar.gz`);
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(epoch) };
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '-z6', '--build', stage, deb], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const top = readdirSync(stage).filter((name) => name !== 'DEBIAN').sort();
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '--transform', `s,^,tenderbridge-${version}-linux-x64/,S`, '-czf', tarball, '-C', stage, ...top], { env });
  const mb = (file) => `${(statSync(file).size / 1048576).toFixed(1)} MB`;
  console.log(`package: ${relative(root, deb)} (${mb(deb)}), ${relative(root, tarball)} (${mb(tarball)}); ${installedKb >> 10} MB installed, ${files.length} files, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** Every file and symlink under `dir`, relative to it, sorted. */
function listFiles(dir, base = dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(path, base));
    else found.push(relative(base, path));
  }
  return found.sort();
}

/** 'script' (#!), 'elf' or null, from the file's first bytes. */
function executableKind(path) {
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1', 0, 2) === '#!') return 'script';
  return head.toString('latin1') === '\x7fELF' ? 'elf' : null;
}

/**
 * The npm packages' own development files (.npmignore, .eslintrc, .gitattributes, .github/, ...):
 * nothing loads them, and Debian does not ship them.
 */
function removeDotfiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name.startsWith('.')) rmSync(path, { recursive: true, force: true });
    else if (entry.isDirectory()) removeDotfiles(path);
  }
}

function normaliseModes(dir) {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) normaliseModes(path);
    else if (entry.isFile()) {
      const kind = executableKind(path);
      const executable = kind === 'script' || (kind === 'elf' && (statSync(path).mode & 0o111) !== 0 && !/\.(so(\.\d+)*|node)$/.test(entry.name));
      chmodSync(path, executable ? 0o755 : 0o644);
    }
  }
}

/**
 * The newest glibc symbol version the shipped native code (better-sqlite3 built here, sharp's
 * prebuilt libvips) asks for: the libc6 the package must depend on. Read from the version
 * strings in the ELF files, so no binutils are needed.
 */
function glibcNeeded(files) {
  let newest = [2, 17];
  for (const file of files.filter((f) => /\.(node|so(\.\d+)*)$/.test(f))) {
    for (const m of readFileSync(at(file)).toString('latin1').matchAll(/GLIBC_2\.(\d+)(?:\.(\d+))?\0/g)) {
      const v = [2, Number(m[1]), Number(m[2] ?? 0)];
      if (v[1] > newest[1] || (v[1] === newest[1] && (v[2] ?? 0) > (newest[2] ?? 0))) newest = v;
    }
  }
  return newest.filter((n, i) => i < 2 || n > 0).join('.');
}
