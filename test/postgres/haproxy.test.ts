import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, freePort, startHarness, TERMINAL_KEY, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The shipped load-balancer config (ops/haproxy/tenderbridge.cfg), run as it is but for its
// addresses, in front of two daemons sharing one PostgreSQL database: both are taken into
// rotation by their /readyz, terminals are served by either, a long-poll through it hears an
// approval whichever daemon took it, and when one daemon stops the other serves every request.

const CONFIG = resolve(import.meta.dirname, '../../ops/haproxy/tenderbridge.cfg');

describeWhenAvailable('ops/haproxy/tenderbridge.cfg in front of two daemons on PostgreSQL', [tools.postgres(), tools.haproxy()], () => {
  let a: Harness;
  let b: Harness;
  let proxy: ChildProcess;
  let front = '';
  let dir = '';
  let log = '';

  beforeAll(async () => {
    a = await startHarness({ backend: 'postgres' });
    b = await startHarness({ backend: 'postgres', joinDatabase: a.databaseUrl as string });
    const port = await freePort();
    const [hostA, hostB] = [new URL(a.url).host, new URL(b.url).host];
    const shipped = readFileSync(CONFIG, 'utf8');
    // The file as shipped, with this test's addresses (and the checks quicker, so the run is short).
    const local = shipped
      .replace(/^ {4}bind :8480$/m, `    bind 127.0.0.1:${port}`)
      .replace(/^ {4}server daemon1 .*$/m, `    server daemon1 ${hostA} check`)
      .replace(/^ {4}server daemon2 .*$/m, `    server daemon2 ${hostB} check`)
      .replace('inter 2s', 'inter 200ms');
    expect(local).not.toBe(shipped);
    expect(local).toContain(`server daemon2 ${hostB} check`);
    dir = mkdtempSync(join(tmpdir(), 'tenderbridge-haproxy-'));
    writeFileSync(join(dir, 'haproxy.cfg'), local);
    proxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    proxy.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    front = `http://127.0.0.1:${port}`;
    await eventually(async () => (await call(`${front}/healthz`)).status === 200 || (proxy.exitCode !== null && Promise.reject(new Error(`haproxy exited: ${log}`))), 15_000, 100);
  }, 180_000);

  afterAll(async () => {
    proxy?.kill('SIGTERM');
    await b?.stop();
    await a?.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const auth = { Authorization: `Bearer ${TERMINAL_KEY}` };
  const orderOf = (id: string) => [a, b].find((h) => h.sim.orders().some((o) => o.orderId === id));

  it('spreads payments over both daemons, and a long-poll through it hears an approval taken by either', async () => {
    const created: Array<{ id: string; version: number; partpay: { orderId: string } }> = [];
    for (let i = 0; i < 8; i++) {
      const res = await call<{ id: string; version: number; partpay: { orderId: string } }>(`${front}/v1/payments`, { headers: { ...auth, 'Idempotency-Key': `lb-${i}` }, json: { amountMinor: 1000 + i, currency: 'NZD', merchantReference: `LB-${i}` } });
      expect(res.status, `${res.text}\n${log}`).toBe(201);
      created.push(res.body);
    }
    // Each daemon created orders with its own simulator: both served.
    const served = created.map((p) => orderOf(p.partpay.orderId));
    expect(served.filter((h) => h === a).length).toBeGreaterThan(0);
    expect(served.filter((h) => h === b).length).toBeGreaterThan(0);
    for (const [i, p] of created.entries()) {
      const poll = call<{ state: string }>(`${front}/v1/payments/${p.id}?wait=20&version=${p.version}`, { headers: auth });
      await new Promise((r) => setTimeout(r, 50));
      served[i]?.sim.approve(p.partpay.orderId);
      expect((await poll).body.state).toBe('approved');
    }
  });

  it('takes a stopped daemon out of rotation: every request is served by the other', async () => {
    // A till's policy (the typed client's): a lost connection is retried, a keyed POST with its key.
    let lost = 0;
    const tillCall = async <T>(url: string, init: Parameters<typeof call>[1]) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call<T>(url, init);
        } catch (error) {
          lost += 1;
          if (attempt === 3) throw error;
        }
      }
    };
    await a.daemon.stop();
    for (let i = 0; i < 20; i++) {
      const res = await tillCall(`${front}/v1/terminal`, { headers: auth });
      expect(res.status, log).toBe(200);
    }
    const made = await tillCall<{ partpay: { orderId: string } }>(`${front}/v1/payments`, { headers: { ...auth, 'Idempotency-Key': 'lb-after' }, json: { amountMinor: 2500, currency: 'NZD', merchantReference: 'LB-AFTER' } });
    expect(made.status).toBe(201);
    expect(orderOf(made.body.partpay.orderId)).toBe(b);
    await eventually(() => /daemon1 is DOWN/.test(log), 10_000, 100);
    // At most the connections open to the stopped daemon when it went were lost (HAProxy ends them).
    expect(lost).toBeLessThanOrEqual(1);
  });
});
