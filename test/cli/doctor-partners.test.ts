import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startHarness, type Harness } from '../support/harness.js';
import { harnessConfig, runTb, tempDir } from './support.js';

let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await startHarness({ electrum: {} });
  dir = tempDir();
});
afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Doctor = { checks: Array<{ name: string; status: string; detail: string }> };
const partner = (baseUrl: string, outboundPassword: string) => ({ id: 'partner-a', name: 'Wallet A', password: 'p', baseUrl, username: 'tenderbridge', outboundPassword });
/** The partner simulators are plain http on loopback: allowed explicitly, as the demo config does. */
const partnerNetwork = { allowLoopbackHttp: true };

describe('tenderbridge doctor: Electrum partners', () => {
  it('reports a reachable partner that accepts our credentials as ok', async () => {
    const run = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir, {}, { electrum: { partnerNetwork, partners: [partner(`${h.partners?.a.url()}/qr/v1`, 'to-partner-a-secret')] } })]);
    expect(run.json<Doctor>().checks.find((c) => c.name === 'electrum partner (partner-a)')).toMatchObject({ status: 'ok' });
  });

  it('fails a partner whose name resolves to a private address, naming the key that would allow it, without calling it', async () => {
    const asked: string[] = [];
    const config = harnessConfig(h, dir, {}, { electrum: { partners: [partner('https://wallet.internal.example/qr/v1', 'x')] } });
    const run = await runTb(['doctor', '--json', '--config', config], {
      lookupHost: (host: string) => Promise.resolve(host === 'wallet.internal.example' ? ['203.0.113.7', '10.1.2.3'] : []),
      fetch: (input: string | URL | Request) => {
        asked.push(String(input));
        return Promise.reject(new Error('the doctor must not call a refused partner'));
      },
    });
    expect(run.json<Doctor>().checks.find((c) => c.name === 'electrum partner (partner-a)')).toMatchObject({
      status: 'fail',
      detail: 'https://wallet.internal.example/qr/v1: wallet.internal.example resolves to 10.1.2.3, a private address, not allowed by electrum.partnerNetwork.allowedAddresses',
    });
    expect(asked.filter((url) => url.includes('wallet.internal.example'))).toEqual([]);
  });

  it('fails a partner that refuses our credentials, and one that is unreachable', async () => {
    const wrong = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir, {}, { electrum: { partnerNetwork, partners: [partner(`${h.partners?.a.url()}/qr/v1`, 'wrong')] } })]);
    expect(wrong.json<Doctor>().checks.find((c) => c.name === 'electrum partner (partner-a)')).toMatchObject({ status: 'fail', detail: expect.stringContaining('refused our credentials') });
    const port = await freePort();
    const down = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir, {}, { electrum: { partnerNetwork, partners: [partner(`http://127.0.0.1:${port}/qr/v1`, 'x')] } })]);
    expect(down.code).toBe(1);
    expect(down.json<Doctor>().checks.find((c) => c.name === 'electrum partner (partner-a)')).toMatchObject({ status: 'fail', detail: expect.stringContaining('unreachable') });
  });
});

describe('tenderbridge doctor: webhooks', () => {
  const secret = 'doctor-webhook-secret-0123456789';
  it('fails an endpoint whose name resolves to a metadata address, naming webhooks.network, warns on one that does not resolve, and POSTs nothing', async () => {
    const asked: string[] = [];
    const endpoints = [
      { id: 'meta', url: 'https://hooks.sneaky.example/x', secret },
      { id: 'public', url: 'https://hooks.example/x', secret },
      { id: 'nowhere', url: 'https://nowhere.example/x', secret },
    ];
    const config = harnessConfig(h, dir, {}, { webhooks: { endpoints } });
    const run = await runTb(['doctor', '--json', '--config', config], {
      lookupHost: (host: string) => {
        if (host === 'nowhere.example') return Promise.reject(new Error('getaddrinfo ENOTFOUND nowhere.example'));
        return Promise.resolve(host === 'hooks.sneaky.example' ? ['169.254.169.254'] : host === 'hooks.example' ? ['203.0.113.9'] : ['127.0.0.1']);
      },
      fetch: (input: string | URL | Request) => {
        asked.push(String(input));
        return Promise.reject(new Error('offline'));
      },
    });
    const checks = run.json<Doctor>().checks;
    expect(checks.find((c) => c.name === 'webhook (meta)')).toEqual({
      name: 'webhook (meta)',
      status: 'fail',
      detail: 'https://hooks.sneaky.example/x: hooks.sneaky.example resolves to 169.254.169.254, a link-local address, not allowed by webhooks.network.allowedAddresses',
    });
    expect(checks.find((c) => c.name === 'webhook (public)')).toMatchObject({ status: 'ok', detail: 'https://hooks.example/x: resolves to 203.0.113.9, allowed by webhooks.network' });
    expect(checks.find((c) => c.name === 'webhook (nowhere)')).toMatchObject({ status: 'warn', detail: expect.stringContaining('nowhere.example does not resolve now') });
    expect(asked.filter((url) => url.includes('hooks'))).toEqual([]);
    expect(run.stdout).not.toContain(secret);
  });
});
