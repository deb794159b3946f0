import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '../../src/shared/config/load.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// systemd-analyze (Debian's `systemd` package) checks the shipped unit offline: no running
// systemd is needed, so this runs in containers and CI alike (skipped where it is missing, outside CI).

const root = resolve(import.meta.dirname, '../..');
const UNIT_PATH = join(root, 'systemd/tenderbridge.service');
const unit = readFileSync(UNIT_PATH, 'utf8');
const MAX_EXPOSURE = 2.0;

let dir: string;

function analyze(args: string[]) {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } });
  if (r.error) throw new Error(`systemd-analyze could not run: ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The unit's directives (comments and sections dropped), as [key, value] in order. */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('['))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}
const values = (key: string) => directives(unit).filter(([k]) => k === key).map(([, v]) => v);

/**
 * A copy of the unit under the same name whose ExecStart uses this test's node: verify
 * insists the binary exists, and CI's node need not live at /usr/bin/node.
 */
function copyForVerify(text: string, folder = 'good'): string {
  mkdirSync(join(dir, folder), { recursive: true });
  const path = join(dir, folder, 'tenderbridge.service');
  writeFileSync(path, text.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-unit-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeWhenAvailable('systemd/tenderbridge.service under systemd-analyze', [tools.systemdAnalyze()], () => {
  it('passes systemd-analyze verify', () => {
    const r = analyze(['verify', '--man=no', copyForVerify(unit)]);
    expect(r.status, r.out).toBe(0);
    expect(r.out.split('\n').filter((line) => line.includes('tenderbridge')), r.out).toEqual([]);
  });

  it('is really checked by verify (a broken copy fails)', () => {
    const broken = copyForVerify(unit.replace('ExecStart=/usr/bin/node ', 'ExecStart=/nonexistent/node '), 'broken');
    const r = analyze(['verify', '--man=no', broken]);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('/nonexistent/node');
  });

  it(`rates an overall exposure of at most ${MAX_EXPOSURE} in systemd-analyze security`, () => {
    const r = analyze(['security', '--offline=true', '--no-pager', UNIT_PATH]);
    const match = /Overall exposure level for tenderbridge\.service: (\d+(?:\.\d+)?)/.exec(r.out);
    expect(match, `no "Overall exposure level" in:\n${r.out}`).not.toBeNull();
    const exposure = Number(match?.[1]);
    expect(exposure, `exposure ${exposure} > ${MAX_EXPOSURE}; the ✗ lines say what to tighten:\n${r.out.split('\n').filter((l) => l.startsWith('✗')).join('\n')}`).toBeLessThanOrEqual(MAX_EXPOSURE);
  });
});

describe('systemd/tenderbridge.service', () => {
  it('runs the compiled daemon with the production config as the unprivileged tenderbridge user', () => {
    expect(values('ExecStart')).toEqual(['/usr/bin/node /opt/tenderbridge/dist/main.js --config /etc/tenderbridge/config.json']);
    expect(values('User')).toEqual(['tenderbridge']);
    expect(values('WorkingDirectory')).toEqual(['/var/lib/tenderbridge']);
    expect(values('StateDirectory')).toEqual(['tenderbridge']);
    expect(values('ConfigurationDirectory')).toEqual(['tenderbridge']);
    expect(values('Type')).toEqual(['notify']);
    expect(values('NotifyAccess')).toEqual(['all']);
    expect(values('Restart')).toEqual(['on-failure']);
    expect(values('RestartPreventExitStatus')).toEqual(['78']);
    expect(values('TimeoutStopSec')).toEqual(['30']);
    expect(values('KillSignal')).toEqual(['SIGTERM']);
  });

  it('keeps the hardening node can live with, and leaves out what it cannot', () => {
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'], ['DevicePolicy', 'closed'], ['ProtectKernelTunables', 'yes'], ['ProtectKernelModules', 'yes'],
      ['ProtectKernelLogs', 'yes'], ['ProtectControlGroups', 'yes'], ['ProtectClock', 'yes'], ['ProtectHostname', 'yes'],
      ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'], ['RestrictNamespaces', 'yes'], ['LockPersonality', 'yes'],
      ['RestrictRealtime', 'yes'], ['RestrictSUIDSGID', 'yes'], ['SystemCallArchitectures', 'native'], ['CapabilityBoundingSet', ''],
      ['AmbientCapabilities', ''], ['UMask', '0077'], ['ProcSubset', 'pid'], ['ProtectProc', 'invisible'],
    ] as const) {
      expect(values(key), key).toEqual([value]);
    }
    expect(values('SystemCallFilter')).toEqual(['@system-service', '~@privileged @resources']);
    // V8's JIT needs writable+executable memory; terminals are on the store LAN.
    expect(values('MemoryDenyWriteExecute')).toEqual([]);
    expect(unit).toMatch(/MemoryDenyWriteExecute=.*NOT set: V8/);
    expect(values('IPAddressDeny')).toEqual([]);
  });

  it('loads exactly the credentials that config/example.json refers to', () => {
    const credentials = values('LoadCredential').map((v) => {
      const [name, path] = v.split(':');
      expect(path).toBe(`/etc/tenderbridge/credentials/${name}`);
      return name;
    });
    const example = readFileSync(join(root, 'config/example.json'), 'utf8');
    const referenced = [...example.matchAll(/^[^/\n]*\{\s*"file":\s*"([^"]+)"\s*\}/gm)].map((m) => m[1]);
    expect(credentials.sort()).toEqual([...new Set(referenced)].sort());
  });
});

describe('config/example.json', () => {
  const EXAMPLE = join(root, 'config/example.json');

  it('loads with the project loader, its secrets read from $CREDENTIALS_DIRECTORY', () => {
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials, { recursive: true });
    writeFileSync(join(credentials, 'partpay-client-secret'), 'dummy-client-secret\n');
    writeFileSync(join(credentials, 'partpay-callback-key'), 'dummy-callback-key\n');
    const config = loadConfigFile(EXAMPLE, { CREDENTIALS_DIRECTORY: credentials });
    expect(config.merchants).toHaveLength(1);
    expect(config.merchants[0]).toMatchObject({ clientSecret: 'dummy-client-secret', callbackKeys: ['dummy-callback-key'], currency: 'NZD' });
    expect(config.stores).toHaveLength(1);
    expect(config.terminals.map((t) => t.storeId)).toEqual(['STORE001', 'STORE001']);
    expect(config.terminals.every((t) => /^sha256:[0-9a-f]{64}$/.test(t.apiKeyHash))).toBe(true);
    expect(config.database).toEqual({ kind: 'sqlite', path: '/var/lib/tenderbridge/tenderbridge.db' });
    expect(config.simulators.partpay.enabled).toBe(false);
    // PartPay production, Zip era (the README's table).
    expect(config.partpay).toMatchObject({
      tokenUrl: 'https://merchant-auth-nz.zip.co/oauth/token',
      audience: 'https://auth.partpay.co.nz',
      apiBaseUrl: 'https://zip.co/nz/api',
    });
  });

  it('names the missing credential when systemd did not pass it', () => {
    let error: unknown;
    try {
      loadConfigFile(EXAMPLE, { CREDENTIALS_DIRECTORY: join(dir, 'empty') });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join('\n')).toContain('merchants[0].clientSecret: secret file not found');
  });
});
