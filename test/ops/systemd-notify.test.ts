import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSystemdNotifier } from '../../src/ops/systemd-notify.js';
import { createLogger } from '../../src/shared/logger.js';
import { eventually } from '../support/harness.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// Plays systemd's side of $NOTIFY_SOCKET: a unix datagram socket that prints each message
// as a JSON line and, like systemd, closes the descriptors that come with it (the barrier's
// pipe), which is what lets `systemd-notify` return.
const LISTENER = String.raw`
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
while True:
    data, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    fds = array.array("i")
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    print(json.dumps({"message": data.decode(), "fds": len(fds)}), flush=True)
    for fd in fds:
        os.close(fd)
`;

// systemd-notify sends the messages; python3 plays systemd's notify socket.

// Every wait here is on a message arriving. Each message is a systemd-notify process, and on a
// loaded box (a full CI run on 2 cores) spawning python3 or a helper can take seconds, so the
// budgets are generous: a passing wait ends as soon as the message is in.
const BUDGET_MS = 30_000;
const needs = () => [tools.systemdNotify(), tools.python3()];

let dir: string;
let listener: ChildProcess | null = null;
let received: Array<{ message: string; fds: number }> = [];
let logLines = '';

function logger() {
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => (logLines += d.toString()));
  return createLogger({ level: 'debug', stream });
}

async function listen(): Promise<string> {
  const socketPath = join(dir, 'notify.sock');
  const child = spawn('python3', ['-c', LISTENER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  listener = child;
  let ready = false;
  let buffer = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const entry = JSON.parse(line) as { listening?: boolean; message?: string; fds?: number };
      if (entry.listening) ready = true;
      else received.push({ message: entry.message ?? '', fds: entry.fds ?? 0 });
    }
  });
  await eventually(() => ready, BUDGET_MS, 20);
  return socketPath;
}

const messages = () => received.map((r) => r.message);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-notify-'));
  received = [];
  logLines = '';
});

afterEach(async () => {
  if (listener && listener.exitCode === null) {
    const exited = new Promise((r) => listener?.once('exit', r));
    listener.kill('SIGTERM');
    await exited;
  }
  listener = null;
  rmSync(dir, { recursive: true, force: true });
});

describe('systemd notifier outside systemd', () => {
  it('does nothing, and spawns nothing, when NOTIFY_SOCKET is unset', async () => {
    const notifier = createSystemdNotifier({ env: { WATCHDOG_USEC: '1000' }, logger: logger(), command: join(dir, 'must-not-run') });
    await notifier.ready();
    await notifier.stopping();
    const stop = notifier.startWatchdog();
    // Nothing to wait on: the test is that nothing happens. 50 ms is 50 pings' worth of WATCHDOG_USEC=1000.
    await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(logLines).toBe('');
  });
});

describeWhenAvailable('systemd notifier', needs(), () => {
  it('sends READY=1 and has systemd acknowledge it (barrier) before ready() resolves', async () => {
    const socket = await listen();
    const notifier = createSystemdNotifier({ env: { NOTIFY_SOCKET: socket, PATH: process.env['PATH'] }, logger: logger() });
    await notifier.ready();
    // systemd-notify blocks on the barrier until the listener closed its pipe: both are in.
    expect(received[0]).toEqual({ message: 'READY=1\nSTATUS=serving', fds: 0 });
    expect(received[1]).toMatchObject({ message: 'BARRIER=1', fds: 1 });
    expect(logLines).toContain('told systemd we are ready');
  });

  it('sends STOPPING=1 after READY=1 even when called without waiting', async () => {
    const socket = await listen();
    const notifier = createSystemdNotifier({ env: { NOTIFY_SOCKET: socket, PATH: process.env['PATH'] }, logger: logger() });
    await Promise.all([notifier.ready(), notifier.stopping()]);
    expect(messages().filter((m) => m !== 'BARRIER=1')).toEqual(['READY=1\nSTATUS=serving', 'STOPPING=1\nSTATUS=stopping']);
  });

  it('asks for more start-up time with EXTEND_TIMEOUT_USEC and says why in STATUS', async () => {
    const socket = await listen();
    const notifier = createSystemdNotifier({ env: { NOTIFY_SOCKET: socket, PATH: process.env['PATH'] }, logger: logger() });
    await notifier.extendStartTimeout(125_500, 'checking the database before serving');
    expect(received[0]).toEqual({ message: 'EXTEND_TIMEOUT_USEC=125500000\nSTATUS=checking the database before serving', fds: 0 });
    expect(logLines).toContain('asked systemd for more start-up time');
  });

  it('pings WATCHDOG=1 at half of WATCHDOG_USEC until stopped', async () => {
    const socket = await listen();
    const notifier = createSystemdNotifier({ env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '300000', WATCHDOG_PID: String(process.pid), PATH: process.env['PATH'] }, logger: logger() });
    const started = Date.now();
    const stop = notifier.startWatchdog();
    await eventually(() => messages().filter((m) => m === 'WATCHDOG=1').length >= 3, BUDGET_MS, 20);
    stop();
    // Three pings every 150 ms take at least 450 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(440);
    expect(logLines).toContain('"pingEveryMs":150');
    const count = messages().filter((m) => m === 'WATCHDOG=1').length;
    // Nothing to wait on after stop(): the test is that no ping follows. 400 ms is over two ping periods.
    await new Promise((r) => setTimeout(r, 400));
    expect(messages().filter((m) => m === 'WATCHDOG=1').length).toBe(count);
  });

  it('leaves the watchdog to the process named by WATCHDOG_PID', async () => {
    const socket = await listen();
    const notifier = createSystemdNotifier({ env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '20000', WATCHDOG_PID: String(process.pid + 1) }, logger: logger() });
    const stop = notifier.startWatchdog();
    // The test is that nothing is sent: 150 ms is 15 periods of WATCHDOG_USEC=20000.
    await new Promise((r) => setTimeout(r, 150));
    stop();
    expect(received).toEqual([]);
  });

  it('has no watchdog without WATCHDOG_USEC', async () => {
    const socket = await listen();
    const notifier = createSystemdNotifier({ env: { NOTIFY_SOCKET: socket }, logger: logger() });
    const stop = notifier.startWatchdog();
    // The test is that nothing is sent; there is no period to wait past, 100 ms gives a stray timer its chance.
    await new Promise((r) => setTimeout(r, 100));
    stop();
    expect(received).toEqual([]);
  });

  it('logs, and does not throw, when the helper is missing or systemd is not listening', async () => {
    const missing = createSystemdNotifier({ env: { NOTIFY_SOCKET: join(dir, 'notify.sock') }, logger: logger(), command: join(dir, 'no-such-helper') });
    await expect(missing.ready()).resolves.toBeUndefined();
    expect(logLines).toContain('not found (install the systemd package');
    logLines = '';
    const nobody = createSystemdNotifier({ env: { NOTIFY_SOCKET: join(dir, 'nobody-listens.sock'), PATH: process.env['PATH'] }, logger: logger() });
    await expect(nobody.ready()).resolves.toBeUndefined();
    expect(logLines).toContain('could not notify systemd');
    expect(logLines).not.toContain('told systemd we are ready');
  });
});

describeWhenAvailable('the built daemon under Type=notify', needs(), () => {
  it('sends READY=1 once it serves, feeds the watchdog, and STOPPING=1 on SIGTERM', { timeout: 4 * BUDGET_MS }, async () => {
    const root = resolve(import.meta.dirname, '../..');
    if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
    const socket = await listen();
    // PartPay on a closed loopback port: nothing leaves the machine.
    const config = {
      server: { host: '127.0.0.1', port: 0 },
      database: { path: join(dir, 'tenderbridge.db') },
      partpay: { tokenUrl: 'http://127.0.0.1:9/oauth/token', audience: 'aud', apiBaseUrl: 'http://127.0.0.1:9/api', callbackUrl: null },
      merchants: [{ id: 'm1', name: 'M', partpayMerchantId: 'PP-1', clientId: 'client', clientSecret: 'inline-secret', callbackKeys: ['cb-key'] }],
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    let output = '';
    const daemon = spawn(process.execPath, [join(root, 'dist/main.js'), '--config', join(dir, 'config.json')], {
      cwd: dir,
      env: { PATH: process.env['PATH'], NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    daemon.stdout.on('data', (d: Buffer) => (output += d.toString()));
    daemon.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await eventually(() => messages().includes('READY=1\nSTATUS=serving'), BUDGET_MS, 20).catch((e: Error) => {
        throw new Error(`${e.message}: no READY=1 from dist/main.js (is src/main.ts calling createSystemdNotifier(...).ready()?)\n${output}`);
      });
      // READY=1 only after the daemon said it listens.
      expect(output).toContain('tenderbridge ready on http://127.0.0.1:');
      await eventually(() => messages().filter((m) => m === 'WATCHDOG=1').length >= 2, BUDGET_MS, 20);
    } finally {
      const exited = new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
      daemon.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    // main.ts waits for the helper before it exits, so STOPPING=1 is already in or on its way
    await eventually(() => messages().includes('STOPPING=1\nSTATUS=stopping'), BUDGET_MS, 20);
    expect(messages().indexOf('READY=1\nSTATUS=serving')).toBeLessThan(messages().indexOf('STOPPING=1\nSTATUS=stopping'));
  });
});
