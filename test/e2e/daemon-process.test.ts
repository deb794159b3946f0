import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

const root = resolve(import.meta.dirname, '../..');
const BASE = 'http://127.0.0.1:8480';
const AUTH = { Authorization: 'Bearer demo-terminal-key' };

let child: ChildProcess;
let cwd: string;
let output = '';

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
  // npm start's config (config/default.json), with the database in a fresh folder.
  cwd = mkdtempSync(join(tmpdir(), 'tenderbridge-e2e-'));
  // As under systemd: JOURNAL_STREAM set, so every line carries its syslog priority.
  child = spawn(process.execPath, [join(root, 'dist/main.js')], { cwd, env: { ...process.env, TENDERBRIDGE_CONFIG: '', JOURNAL_STREAM: '8:12345' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  // A loaded box (a full CI run on 2 cores) can take many seconds to start node; the wait ends once it is ready.
  await eventually(() => output.includes('tenderbridge ready on'), 50_000, 50).catch((e: Error) => {
    throw new Error(`${e.message}\n${output}`);
  });
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(cwd, { recursive: true, force: true });
});

describe('the built daemon as a process with the demo config', () => {
  it('logs the URLs and keeps secrets out of its log', () => {
    expect(output).toContain('"terminalApi":"http://127.0.0.1:8480/v1"');
    expect(output).toContain('"customerPage":"http://127.0.0.1:8490/phone"');
    for (const secret of ['demo-client-secret', 'iDt3PoeoSHu3r/mTbzkaHg', 'demo-terminal-key']) expect(output).not.toContain(secret);
  });

  it('writes each log line with its syslog priority under systemd, the level matching it', () => {
    const lines = output.split('\n').filter((l) => l.startsWith('<') || l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(2);
    const priority: Record<string, string> = { error: '3', warn: '4', info: '6', http: '7', debug: '7' };
    for (const line of lines) {
      const m = /^<([0-7])>(\{.*\})$/.exec(line);
      expect(m, line).not.toBeNull();
      const entry = JSON.parse(m?.[2] ?? '{}') as { level: string };
      expect(m?.[1]).toBe(priority[entry.level]);
    }
  });

  it('says which version and commit it runs: ready line, /healthz, metrics, the CLI', async () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const commit = (JSON.parse(readFileSync(join(root, 'dist/build-info.json'), 'utf8')) as { commit: string | null }).commit;
    expect(output).toContain(`tenderbridge ${version}`);
    expect((await call(`${BASE}/healthz`)).body).toEqual({ status: 'ok', version, commit });
    const metrics = await (await fetch(`${BASE}/metrics`)).text();
    expect(metrics).toContain(`tenderbridge_build_info{version="${version}",commit="${commit ?? 'unknown'}",node="${process.version}"} 1`);
    const terminal = await call(`${BASE}/v1/terminal`, { headers: AUTH });
    expect(terminal.body).toMatchObject({ tenderbridge: { version, commit } });
    const cli = spawnSync(process.execPath, [join(root, 'bin/tenderbridge.js'), '--version'], { encoding: 'utf8' });
    expect(cli.stdout.trim()).toBe(commit ? `${version} (commit ${commit.slice(0, 7)})` : version);
  });

  it('takes one PartPay payment from create to approval over HTTP', async () => {
    expect((await call(`${BASE}/healthz`)).status).toBe(200);
    expect((await call(`${BASE}/readyz`)).status).toBe(200);
    const created = await call<PaymentJson>(`${BASE}/v1/payments`, { headers: { ...AUTH, 'Idempotency-Key': 'e2e-1' }, json: { amountMinor: 1995, currency: 'NZD', merchantReference: 'E2E-1' } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.state).toBe('awaiting_customer');
    const qr = await fetch(`${BASE}${created.body.qr?.imageUrl}`, { headers: AUTH });
    expect(qr.headers.get('content-type')).toBe('image/png');
    // The customer approves on the simulator's phone API.
    const approve = await call(`http://127.0.0.1:8490/phone/api/orders/${created.body.partpay?.orderId}/approve`, { method: 'POST' });
    expect(approve.status).toBe(200);
    const done = await call<PaymentJson>(`${BASE}/v1/payments/${created.body.id}?wait=30&version=${created.body.version}`, { headers: AUTH });
    expect(done.body).toMatchObject({ state: 'approved', paid: true });
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"message":"stopped"');
  });
});
