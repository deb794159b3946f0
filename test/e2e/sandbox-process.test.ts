import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../../src/daemon.js';
import { MAGIC_AMOUNTS } from '../../src/sandbox/index.js';
import type { SandboxConfigSnippet } from '../../src/sandbox/index.js';
import { parseConfig } from '../../src/shared/config/load.js';
import { createLogger } from '../../src/shared/logger.js';
import { electrumPos, untilPayWaits } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, freePort } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

// `tenderbridge sandbox` as a POS developer or a vendor's CI runs it: the built CLI in a process
// of its own, and a daemon configured only from the config the sandbox printed.

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli/main.js');
const TERMINAL_KEY = 'sandbox-test-terminal-key';
const AUTH = { Authorization: `Bearer ${TERMINAL_KEY}` };

interface Ready {
  partpayUrl: string;
  partnerUrl: string;
  daemonUrl: string;
  config: SandboxConfigSnippet;
}

let child: ChildProcess;
let stdout = '';
let stderr = '';
let ready: Ready;
let daemon: Daemon;
let url: string;
let dir: string;

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does)');
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-sandbox-'));
  const daemonPort = await freePort();
  // The one command a POS developer runs in a checkout (`npx tenderbridge-sandbox`): it builds dist/ when missing or stale, then starts.
  child = spawn(process.execPath, [join(root, 'bin/tenderbridge-sandbox.js'), '--json', '--partpay-port', '0', '--partner-port', '0', '--daemon-url', `http://127.0.0.1:${daemonPort}`, '--auto-decide', '100'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await eventually(() => (stdout.includes('\n') ? stdout.slice(0, stdout.indexOf('\n')) : ''), 50_000, 50).catch((e: Error) => {
    throw new Error(`${e.message}\n${stdout}\n${stderr}`);
  });
  ready = JSON.parse(line) as Ready;

  // The printed sections, plus what is ours: a store, a terminal, an Electrum POS client.
  const raw = {
    ...ready.config,
    server: { host: '127.0.0.1', port: daemonPort, shutdownGraceSeconds: 1 },
    database: { path: join(dir, 'tb.db') },
    log: { level: 'debug' },
    electrum: {
      ...ready.config.electrum,
      providerId: 'nz.tenderbridge.sandbox',
      scanWaitSeconds: 10,
      partnerTimeoutSeconds: 5,
      clients: [{ id: ELECTRUM.pos.id, password: ELECTRUM.pos.password, terminals: [ELECTRUM.pos.terminal], provider: 'electrum' }],
    },
    outbox: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 5 },
    jobs: { deliverOutbox: '* * * * * *' },
    backups: { dir: join(dir, 'backups') },
    stores: [{ id: 'S1', name: 'Sandbox Store', merchant: ready.config.merchants[0]?.id }],
    terminals: [
      { id: ELECTRUM.pos.terminal, store: 'S1', apiKey: 'sandbox-test-electrum-till' },
      { id: 'TERM0009', store: 'S1', apiKey: TERMINAL_KEY },
    ],
  };
  const logger = createLogger({ level: 'debug', silent: true });
  daemon = createDaemon(parseConfig(raw, { source: 'sandbox test', env: {}, configDir: dir }), { logger });
  url = await daemon.start();
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tenderbridge sandbox as a separate process', () => {
  it('listens on loopback and prints a config that points a daemon at it', () => {
    expect(new URL(ready.partpayUrl).hostname).toBe('127.0.0.1');
    expect(new URL(ready.partnerUrl).hostname).toBe('127.0.0.1');
    expect(ready.config.partpay).toMatchObject({ tokenUrl: `${ready.partpayUrl}/oauth/token`, apiBaseUrl: `${ready.partpayUrl}/api`, callbackUrl: `${ready.daemonUrl}/partpay/callback` });
    expect(ready.config.electrum.partners[0]?.baseUrl).toBe(`${ready.partnerUrl}/qr/v1`);
  });

  it('completes a PartPay payment: token, order, auto-approval, signed callback to the daemon', async () => {
    const created = await call<PaymentJson>(`${url}/v1/payments`, { headers: { ...AUTH, 'Idempotency-Key': 'sandbox-1' }, json: { amountMinor: 1995, currency: 'NZD', merchantReference: 'SANDBOX-1' } });
    expect(created.status, created.text).toBe(201);
    const done = await call<PaymentJson>(`${url}/v1/payments/${created.body.id}?wait=30&version=${created.body.version}`, { headers: AUTH });
    expect(done.body).toMatchObject({ state: 'approved', paid: true });
    // The approval came by PartPay's signed callback (verified with the printed key), not by polling.
    const kinds = (daemon.db.prepare('SELECT kind FROM payment_events WHERE payment_id = ? AND actor = ?').all(created.body.id, 'partpay') as Array<{ kind: string }>).map((e) => e.kind);
    expect(kinds).toContain('callback');
  });

  it('declines a PartPay payment of the magic amount .51', async () => {
    expect(MAGIC_AMOUNTS.find((m) => m.cents === '.51')?.partpay).toContain('declined');
    const created = await call<PaymentJson>(`${url}/v1/payments`, { headers: { ...AUTH, 'Idempotency-Key': 'sandbox-2' }, json: { amountMinor: 1051, currency: 'NZD', merchantReference: 'SANDBOX-2' } });
    expect(created.status, created.text).toBe(201);
    const done = await eventually(async () => {
      const r = await call<PaymentJson>(`${url}/v1/payments/${created.body.id}?wait=10&version=${created.body.version}`, { headers: AUTH });
      return r.body.state === 'awaiting_customer' ? undefined : r;
    }, 30_000);
    expect(done?.body).toMatchObject({ state: 'declined', paid: false });
  });

  it('completes an Electrum flow: QR code, the partner scans over HTTP, pay approved, confirmation delivered to the partner', async () => {
    const pos = electrumPos({ url });
    const code = await pos.createQrCode(pos.qrRequest(2500));
    expect(code.status, code.text).toBe(201);
    const request = pos.payRequest(code.body.tranId, 2500);
    const paying = pos.pay(request);
    await untilPayWaits({ daemon }, request.id);
    // The wallet's scan, through the sandbox's HTTP API (what a CI script would call).
    const scan = await call<{ status: number }>(`${ready.partnerUrl}/sim/scan`, { json: { qrCode: code.body.qrCode } });
    expect(scan.body.status, scan.text).toBe(202);
    const answer = await paying;
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({ amounts: { approvedAmount: { amount: 2500 } }, partner: { id: ready.config.electrum.partners[0]?.id } });
    expect((await pos.confirm(pos.confirmation(request.id))).status).toBeLessThan(300);
    await eventually(async () => {
      const seen = await call<{ payments: Array<{ requestId: string; state: string }> }>(`${ready.partnerUrl}/sim/payments`);
      return seen.body.payments.find((p) => p.requestId === request.id)?.state === 'confirmed';
    }, 20_000);
  });

  it('stops on SIGTERM with exit code 0, its ports closed', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM, stopping');
    await expect(fetch(`${ready.partnerUrl}/sim/payments`)).rejects.toThrow();
  });
});

describe('tenderbridge sandbox and Ctrl-C', () => {
  it('stops on SIGINT with exit code 0 once it is ready', async () => {
    const run = spawn(process.execPath, [cli, 'sandbox', '--partpay-port', '0', '--partner-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    run.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    run.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => run.once('exit', (code) => r(code)));
    await eventually(() => out.includes('tenderbridge sandbox ready'), 50_000, 50);
    // The human-readable banner: URLs, the config to merge, where to approve and scan.
    expect(out).toMatch(/PartPay simulator on http:\/\/127\.0\.0\.1:\d+, Electrum partner simulator on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('"clientSecret": "sandbox-client-secret"');
    run.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(err).toContain('SIGINT, stopping');
  }, 60_000);
});

describe('tenderbridge sandbox --help', () => {
  it('documents the flags and every magic amount', () => {
    const run = spawnSync(process.execPath, [cli, 'sandbox', '--help'], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).toBe(0);
    for (const flag of ['--host', '--partpay-port', '--partner-port', '--daemon-url', '--auto-decide']) expect(run.stdout).toContain(flag);
    for (const m of MAGIC_AMOUNTS) expect(run.stdout).toContain(`${m.cents}`);
    expect(run.stdout).toContain('DECLINED_BY_PARTNER');
  });

  it('refuses a bad port with exit code 2 and says what a port is', () => {
    const run = spawnSync(process.execPath, [cli, 'sandbox', '--partpay-port', 'abc'], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('a port is a whole number from 0 to 65535');
  });
});
