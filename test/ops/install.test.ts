import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// install.sh and uninstall.sh against the repository's real build, into a temporary
// --destdir. `--no-deps` skips `npm install --omit=dev` in the target, which would take
// minutes and need the registry; everything else is exactly what a store install does.

const root = resolve(import.meta.dirname, '../..');
const INSTALL = join(root, 'scripts/install.sh');
const UNINSTALL = join(root, 'scripts/uninstall.sh');

let dest: string;

/**
 * Runs a script without blocking the test worker: a synchronous spawn of the whole install
 * held vitest's worker past its RPC timeout on a loaded box ("Timeout calling onTaskUpdate").
 */
function sh(script: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { env: { ...process.env, DESTDIR: '', ...env } });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out }));
  });
}
async function install(...args: string[]) {
  const r = await sh(INSTALL, ['--destdir', dest, '--no-deps', ...args]);
  expect(r.status, r.out).toBe(0);
  return r.out;
}
async function uninstall(...args: string[]) {
  const r = await sh(UNINSTALL, ['--destdir', dest, ...args]);
  expect(r.status, r.out).toBe(0);
  return r.out;
}
const at = (path: string) => join(dest, path);
const mode = (path: string) => (statSync(at(path)).mode & 0o7777).toString(8);

/** Every path under a folder with its type, mode, size, mtime and link target. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (path: string) => {
    const st = lstatSync(path);
    const key = relative(dir, path) || '.';
    out[key] = st.isSymbolicLink() ? `link ${readlinkSync(path)}` : `${st.isDirectory() ? 'dir' : 'file'} ${(st.mode & 0o7777).toString(8)} ${st.size} ${st.mtimeMs}`;
    if (st.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
});
beforeEach(() => {
  dest = mkdtempSync(join(tmpdir(), 'tenderbridge-install-'));
});
afterEach(() => {
  rmSync(dest, { recursive: true, force: true });
});

// A test runs the scripts two or three times over dist/'s 500 files: 8-10 s each here at load 5,
// over 25 s in all at load 10. A budget for a busy box, not a speed check.
const BUDGET = { timeout: 90_000 };

describe('scripts/install.sh --destdir', BUDGET, () => {
  it('places the app, the unit, the user entry, the config, the credentials folder and the CLI link', async () => {
    const out = await install();
    // the app
    expect(filesUnder(at('opt/tenderbridge/dist'))).toEqual(filesUnder(join(root, 'dist')));
    expect(readFileSync(at('opt/tenderbridge/dist/main.js'), 'utf8')).toBe(readFileSync(join(root, 'dist/main.js'), 'utf8'));
    expect(mode('opt/tenderbridge/dist/main.js')).toBe('644');
    expect(mode('opt/tenderbridge/bin/tenderbridge.js')).toBe('755');
    for (const file of ['package.json', 'package-lock.json', 'README.md', 'config/example.json']) {
      expect(readFileSync(at(`opt/tenderbridge/${file}`), 'utf8'), file).toBe(readFileSync(join(root, file), 'utf8'));
    }
    expect(existsSync(at('opt/tenderbridge/node_modules'))).toBe(false);
    expect(out).toContain('--no-deps');
    // systemd
    expect(readFileSync(at('etc/systemd/system/tenderbridge.service'), 'utf8')).toBe(readFileSync(join(root, 'systemd/tenderbridge.service'), 'utf8'));
    expect(mode('etc/systemd/system/tenderbridge.service')).toBe('644');
    expect(readFileSync(at('etc/sysusers.d/tenderbridge.conf'), 'utf8')).toMatch(/^u tenderbridge - .* \/var\/lib\/tenderbridge /m);
    expect(out).toContain('user tenderbridge not created now');
    expect(out).toContain('daemon-reload skipped');
    // config and credentials
    const example = readFileSync(join(root, 'config/example.json'), 'utf8');
    expect(readFileSync(at('etc/tenderbridge/config.json'), 'utf8')).toBe(example);
    expect(mode('etc/tenderbridge/config.json')).toBe('640');
    expect(readFileSync(at('etc/tenderbridge/config.json.example'), 'utf8')).toBe(example);
    expect(mode('etc/tenderbridge')).toBe('755');
    expect(mode('etc/tenderbridge/credentials')).toBe('700');
    // the CLI: an absolute link into the target system, not into the destdir
    expect(readlinkSync(at('usr/local/bin/tenderbridge'))).toBe('/opt/tenderbridge/bin/tenderbridge.js');
    // next steps
    for (const step of ['systemctl enable --now tenderbridge', 'journalctl -u tenderbridge -f', 'curl -s localhost:8480/readyz', '/etc/tenderbridge/credentials/partpay-client-secret']) {
      expect(out).toContain(step);
    }
  });

  it('changes nothing when run again, and never overwrites an edited config', async () => {
    await install();
    const configPath = at('etc/tenderbridge/config.json');
    writeFileSync(configPath, '{ "edited": true }\n', { mode: 0o640 });
    const before = snapshot(dest);
    const out = await install();
    expect(snapshot(dest)).toEqual(before);
    expect(out).toContain('nothing to change');
    expect(out).toContain('keeping /etc/tenderbridge/config.json');
    expect(readFileSync(configPath, 'utf8')).toBe('{ "edited": true }\n');
  });

  it('upgrades: replaces changed files, removes files the build dropped, restores modes, keeps the config', async () => {
    await install();
    writeFileSync(at('etc/tenderbridge/config.json'), '{ "mine": 1 }\n');
    writeFileSync(at('opt/tenderbridge/dist/main.js'), '// an older build\n');
    writeFileSync(at('opt/tenderbridge/dist/removed-module.js'), '// gone from the new build\n');
    writeFileSync(at('etc/tenderbridge/config.json.example'), '// older example\n');
    spawnSync('chmod', ['0755', at('etc/tenderbridge/credentials')]);
    await install();
    expect(readFileSync(at('opt/tenderbridge/dist/main.js'), 'utf8')).toBe(readFileSync(join(root, 'dist/main.js'), 'utf8'));
    expect(existsSync(at('opt/tenderbridge/dist/removed-module.js'))).toBe(false);
    expect(readFileSync(at('etc/tenderbridge/config.json.example'), 'utf8')).toBe(readFileSync(join(root, 'config/example.json'), 'utf8'));
    expect(mode('etc/tenderbridge/credentials')).toBe('700');
    expect(readFileSync(at('etc/tenderbridge/config.json'), 'utf8')).toBe('{ "mine": 1 }\n');
  });

  it('--dry-run prints every action and changes nothing, on a fresh or an outdated target', async () => {
    const fresh = join(dest, 'not-yet');
    const dry = await sh(INSTALL, ['--destdir', fresh, '--no-deps', '--dry-run']);
    expect(dry.status, dry.out).toBe(0);
    expect(existsSync(fresh)).toBe(false);
    expect(dry.out).toContain(`would run: install -m 0644 ${root}/systemd/tenderbridge.service ${fresh}/etc/systemd/system/tenderbridge.service`);
    expect(dry.out).toContain(`would run: install -m 0640 ${root}/config/example.json ${fresh}/etc/tenderbridge/config.json`);
    expect(dry.out).toContain(`would run: ln -sfn /opt/tenderbridge/bin/tenderbridge.js ${fresh}/usr/local/bin/tenderbridge`);

    await install();
    writeFileSync(at('opt/tenderbridge/dist/main.js'), '// an older build\n');
    rmSync(at('usr/local/bin/tenderbridge'));
    const before = snapshot(dest);
    const out = await install('--dry-run');
    expect(snapshot(dest)).toEqual(before);
    expect(out).toContain(`would run: install -m 0644 ${root}/dist/main.js ${dest}/opt/tenderbridge/dist/main.js`);
    expect(out).toContain('would run: ln -sfn');
  });

  it('takes the destination from $DESTDIR too, and explains its options', async () => {
    const r = await sh(INSTALL, ['--no-deps'], { DESTDIR: dest });
    expect(r.status, r.out).toBe(0);
    expect(existsSync(at('etc/systemd/system/tenderbridge.service'))).toBe(true);
    const help = await sh(INSTALL, ['--help']);
    expect(help.status).toBe(0);
    for (const option of ['--dry-run', '--destdir', '--no-deps']) expect(help.out).toContain(option);
    const bad = await sh(INSTALL, ['--frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.out).toContain('unknown option --frobnicate');
  });
});

describe('scripts/uninstall.sh --destdir', BUDGET, () => {
  it('removes the app, the unit and the CLI link but keeps config, credentials and state', async () => {
    await install();
    writeFileSync(at('etc/tenderbridge/credentials/partpay-client-secret'), 'secret\n');
    spawnSync('mkdir', ['-p', at('var/lib/tenderbridge')]);
    writeFileSync(at('var/lib/tenderbridge/tenderbridge.db'), 'payments');

    const before = snapshot(dest);
    const dry = await uninstall('--dry-run');
    expect(snapshot(dest)).toEqual(before);
    expect(dry).toContain(`would run: rm -rf -- ${dest}/opt/tenderbridge`);

    const out = await uninstall();
    for (const gone of ['opt/tenderbridge', 'etc/systemd/system/tenderbridge.service', 'etc/sysusers.d/tenderbridge.conf', 'usr/local/bin/tenderbridge']) {
      expect(existsSync(at(gone)) || lstatSync(at(gone), { throwIfNoEntry: false }) !== undefined, gone).toBe(false);
    }
    expect(readFileSync(at('etc/tenderbridge/config.json'), 'utf8')).toBe(readFileSync(join(root, 'config/example.json'), 'utf8'));
    expect(readFileSync(at('etc/tenderbridge/credentials/partpay-client-secret'), 'utf8')).toBe('secret\n');
    expect(readFileSync(at('var/lib/tenderbridge/tenderbridge.db'), 'utf8')).toBe('payments');
    expect(out).toContain('keeping /etc/tenderbridge (use --purge');
    expect(await uninstall()).toContain('nothing to remove');
  });

  it('--purge also deletes the config, the credentials and the state', async () => {
    await install();
    spawnSync('mkdir', ['-p', at('var/lib/tenderbridge')]);
    writeFileSync(at('var/lib/tenderbridge/tenderbridge.db'), 'payments');
    await uninstall('--purge');
    expect(existsSync(at('etc/tenderbridge'))).toBe(false);
    expect(existsSync(at('var/lib/tenderbridge'))).toBe(false);
    expect(existsSync(at('opt/tenderbridge'))).toBe(false);
  });

  it('leaves a CLI link that is not its own alone', async () => {
    await install();
    rmSync(at('usr/local/bin/tenderbridge'));
    spawnSync('ln', ['-s', '/somewhere/else', at('usr/local/bin/tenderbridge')]);
    await uninstall();
    expect(readlinkSync(at('usr/local/bin/tenderbridge'))).toBe('/somewhere/else');
  });
});
