/**
 * `npm run package` (scripts/package.mjs): the .deb store IT installs offline, and the .tar.gz of
 * the same tree. The .deb is unpacked into a staging root (dpkg-deb -x: no root, no dpkg
 * database), and the daemon is started from there against a temporary config and the PartPay
 * simulator, takes one payment and stops.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSims, type Sims } from '../chaos/sims-client.js';
import { writeDaemonConfig } from '../chaos/daemon-process.js';
import { eventually, freePort, TERMINAL_KEY } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

const root = resolve(import.meta.dirname, '../..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const AUTH = { Authorization: `Bearer ${TERMINAL_KEY}` };
// The build and lintian take a minute: run asynchronously, so the test worker keeps talking to vitest.
const run = promisify(execFile);

let dir: string;
let deb: string;
let tarball: string;
let staging: string;
let control: string;
let built = '';

/** The paths of an archive listing (`./usr/bin/x -> target` or `prefix/usr/bin/x`), without the top folder, files and links only. */
const paths = (lines: string[], strip: RegExp): string[] =>
  lines
    .map((l) => l.replace(/ -> .*$/, '').replace(strip, ''))
    .filter((p) => p !== '' && !p.endsWith('/'))
    .sort();

describeWhenAvailable('the Debian package and the tarball', [tools.dpkgDeb(), tools.strip()], () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenderbridge-package-'));
    built = (await run(process.execPath, [join(root, 'scripts/package.mjs'), '--out', join(dir, 'out')], { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
    deb = join(dir, 'out', `tenderbridge_${version}_amd64.deb`);
    tarball = join(dir, 'out', `tenderbridge-${version}-linux-x64.tar.gz`);
    staging = join(dir, 'root');
    await run('dpkg-deb', ['-x', deb, staging]);
    control = join(dir, 'control');
    await run('dpkg-deb', ['-e', deb, control]);
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds both artifacts with the package.json version, and says how big they are', () => {
    expect(statSync(deb).size).toBeGreaterThan(1_000_000);
    expect(statSync(tarball).size).toBeGreaterThan(1_000_000);
    expect(built).toMatch(new RegExp(`tenderbridge_${version.replaceAll('.', '\\.')}_amd64\\.deb \\(\\d+\\.\\d MB\\)`));
  });

  it('declares the package, its Node.js dependency and the config as a conffile', () => {
    const field = (name: string) => execFileSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' }).trim();
    expect(field('Package')).toBe('tenderbridge');
    expect(field('Version')).toBe(version);
    expect(field('Architecture')).toBe('amd64');
    expect(field('Depends')).toMatch(/^nodejs \(>= 20\.19\), libc6 \(>= 2\.\d+\)$/);
    expect(readFileSync(join(control, 'conffiles'), 'utf8')).toBe('/etc/tenderbridge/config.json\n');
    for (const script of ['postinst', 'prerm', 'postrm']) expect(statSync(join(control, script)).mode & 0o777).toBe(0o755);
  });

  it('maintainer scripts: install sets up without starting, upgrade restarts, remove stops and keeps data, purge deletes it', () => {
    // Each script runs with only stubs on its PATH (every command it calls logs its arguments
    // and succeeds), so nothing on this machine changes; systemd is shown as running by
    // pointing the scripts' /run/systemd/system test at a folder that exists.
    const stubs = join(dir, 'stubs');
    mkdirSync(stubs);
    const commands = ['systemd-sysusers', 'systemd-tmpfiles', 'dpkg-statoverride', 'stat', 'chgrp', 'chmod', 'deb-systemd-helper', 'deb-systemd-invoke', 'systemctl', 'rm', 'getent', 'useradd', 'install'];
    for (const command of commands) writeFileSync(join(stubs, command), '#!/bin/sh\nprintf \'%s\\n\' "${0##*/} $*" >> "$LOG"\n', { mode: 0o755 });
    const log = join(dir, 'maintainer.log');
    const script = (name: string, ...args: string[]): string[] => {
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, readFileSync(join(control, name), 'utf8').replaceAll('/run/systemd/system', stubs));
      writeFileSync(log, '');
      const result = spawnSync('/bin/sh', ['-e', file, ...args], { encoding: 'utf8', env: { PATH: stubs, LOG: log } });
      expect(result.status, `${name} ${args.join(' ')}: ${result.stderr}`).toBe(0);
      return readFileSync(log, 'utf8').split('\n').filter(Boolean);
    };

    const install = script('postinst', 'configure', '');
    expect(install).toEqual(expect.arrayContaining(['systemd-sysusers tenderbridge.conf', 'systemd-tmpfiles --create tenderbridge.conf', 'deb-systemd-helper update-state tenderbridge.service', 'systemctl --system daemon-reload']));
    expect(install.filter((l) => / (enable|start|restart|try-restart)\b/.test(l))).toEqual([]);
    expect(script('postinst', 'configure', '0.1.0')).toContain('deb-systemd-invoke try-restart tenderbridge.service');

    expect(script('prerm', 'remove')).toEqual(['deb-systemd-invoke stop tenderbridge.service']);
    expect(script('prerm', 'upgrade', '0.3.0')).toEqual([]);

    const remove = script('postrm', 'remove');
    expect(remove.filter((l) => l.startsWith('rm '))).toEqual([]);
    expect(script('postrm', 'upgrade', '0.3.0').filter((l) => l.startsWith('rm '))).toEqual([]);
    const purge = script('postrm', 'purge');
    expect(purge).toContain('rm -rf /etc/tenderbridge /var/lib/tenderbridge /var/lib/private/tenderbridge');
    expect(purge).toContain('deb-systemd-helper purge tenderbridge.service');
  });

  it('installs the app, the unit pointing at it, the user, its directories, the config and the CLI', () => {
    for (const path of ['usr/lib/tenderbridge/dist/main.js', 'usr/lib/tenderbridge/dist/build-info.json', 'usr/lib/tenderbridge/node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'usr/lib/tenderbridge/node_modules/@img/sharp-linux-x64/package.json', 'usr/share/doc/tenderbridge/copyright', 'usr/share/doc/tenderbridge/changelog.gz', 'usr/share/man/man1/tenderbridge.1.gz']) {
      expect(existsSync(join(staging, path)), path).toBe(true);
    }
    // Production dependencies only, and none of better-sqlite3's build leftovers.
    for (const path of ['vitest', 'typescript', 'tsx', 'better-sqlite3/deps', 'better-sqlite3/build/Release/obj']) expect(existsSync(join(staging, 'usr/lib/tenderbridge/node_modules', path)), path).toBe(false);
    const unit = readFileSync(join(staging, 'lib/systemd/system/tenderbridge.service'), 'utf8');
    expect(unit).toContain('\nExecStart=/usr/bin/node /usr/lib/tenderbridge/dist/main.js --config /etc/tenderbridge/config.json\n');
    expect(unit).not.toContain('/opt/tenderbridge');
    expect(readFileSync(join(staging, 'usr/lib/sysusers.d/tenderbridge.conf'), 'utf8')).toMatch(/^u tenderbridge - /m);
    expect(readFileSync(join(staging, 'usr/lib/tmpfiles.d/tenderbridge.conf'), 'utf8')).toMatch(/^d \/var\/lib\/tenderbridge +0700 tenderbridge tenderbridge/m);
    expect(readFileSync(join(staging, 'etc/tenderbridge/config.json'), 'utf8')).toBe(readFileSync(join(root, 'config/example.json'), 'utf8'));
    expect(statSync(join(staging, 'usr/bin/tenderbridge')).mode & 0o777).toBe(0o755);
    expect(statSync(join(staging, 'usr/lib/tenderbridge/bin/tenderbridge.js')).mode & 0o777).toBe(0o755);
  });

  it('runs the installed CLI, which reports the package version and the build commit', () => {
    const commit = (JSON.parse(readFileSync(join(staging, 'usr/lib/tenderbridge/dist/build-info.json'), 'utf8')) as { commit: string | null }).commit;
    const cli = spawnSync(join(staging, 'usr/bin/tenderbridge'), ['--version'], { encoding: 'utf8' });
    expect(cli.stderr).toBe('');
    expect(cli.stdout.trim()).toBe(commit ? `${version} (commit ${commit.slice(0, 7)})` : version);
    // Its default config is the installed service's (absent in the staging root: named in the error).
    const check = spawnSync(join(staging, 'usr/bin/tenderbridge'), ['config', 'check'], { encoding: 'utf8', env: { ...process.env, TENDERBRIDGE_CONFIG: '' } });
    expect(check.status).toBe(78);
    expect(check.stderr).toContain('/etc/tenderbridge/config.json');
  });

  it('puts the same tree in the tarball, under one top folder', async () => {
    const inDeb = paths((await run('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -t', 'sh', deb], { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout.split('\n'), /^\.\//);
    const inTar = paths((await run('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout.split('\n'), new RegExp(`^tenderbridge-${version.replaceAll('.', '\\.')}-linux-x64/`));
    expect(inDeb.length).toBeGreaterThan(1000);
    expect(inTar).toEqual(inDeb);
  });

  describeWhenAvailable('lintian', [tools.lintian()], () => {
    it('finds no error and no warning in the .deb', { timeout: 180_000 }, async () => {
      // Exits non-zero (rejecting with its output) on any error or warning.
      const result = await run('lintian', ['--fail-on', 'error,warning', deb], { encoding: 'utf8', maxBuffer: 16 << 20 }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout ?? ''}${e.stderr ?? ''}`, failed: true }));
      expect(result.stdout.split('\n').filter((l) => /^[EW]: /.test(l))).toEqual([]);
      expect('failed' in result ? result.stdout : '').toBe('');
    });
  });

  it('starts the daemon from the staging root, takes one PartPay payment and stops on SIGTERM', { timeout: 90_000 }, async () => {
    const work = join(dir, 'state');
    mkdirSync(work);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let sims: Sims | undefined;
    let child: ChildProcess | undefined;
    let output = '';
    try {
      sims = await startSims(base);
      const config = writeDaemonConfig(work, port, sims.partpayUrl);
      child = spawn(process.execPath, [join(staging, 'usr/lib/tenderbridge/dist/main.js'), '--config', config], { cwd: work, env: { ...process.env, TENDERBRIDGE_CONFIG: '', NODE_ENV: 'production', NODE_PATH: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      await eventually(() => output.includes('tenderbridge ready on'), 20_000, 50).catch((e: Error) => {
        throw new Error(`${e.message}\n${output}`);
      });
      expect((await call(`${base}/healthz`)).body).toMatchObject({ status: 'ok', version });

      const created = await call<PaymentJson>(`${base}/v1/payments`, { headers: { ...AUTH, 'Idempotency-Key': 'package-1' }, json: { amountMinor: 1250, currency: 'NZD', merchantReference: 'PACKAGE-1' } });
      expect(created.status, created.text).toBe(201);
      expect(created.body.state).toBe('awaiting_customer');
      // The QR image goes through sharp, the packaged native module.
      const qr = await fetch(`${base}${created.body.qr?.imageUrl}`, { headers: AUTH });
      expect(qr.status).toBe(200);
      expect(qr.headers.get('content-type')).toMatch(/^image\//);
      await sims.approve(created.body.partpay?.orderId ?? '');
      const done = await call<PaymentJson>(`${base}/v1/payments/${created.body.id}?wait=30&version=${created.body.version}`, { headers: AUTH });
      expect(done.body).toMatchObject({ state: 'approved', paid: true });

      const c = child;
      const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
      c.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('"message":"stopped"');
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await sims?.stop();
    }
  });
});
