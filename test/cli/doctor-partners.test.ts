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

describe('tenderbridge doctor: Electrum partners', () => {
  it('reports a reachable partner that accepts our credentials as ok', async () => {
    const run = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir, {}, { electrum: { partners: [partner(`${h.partners?.a.url()}/qr/v1`, 'to-partner-a-secret')] } })]);
    expect(run.json<Doctor>().checks.find((c) => c.name === 'electrum partner (partner-a)')).toMatchObject({ status: 'ok' });
  });

  it('fails a partner that refuses our credentials, and one that is unreachable', async () => {
    const wrong = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir, {}, { electrum: { partners: [partner(`${h.partners?.a.url()}/qr/v1`, 'wrong')] } })]);
    expect(wrong.json<Doctor>().checks.find((c) => c.name === 'electrum partner (partner-a)')).toMatchObject({ status: 'fail', detail: expect.stringContaining('refused our credentials') });
    const port = await freePort();
    const down = await runTb(['doctor', '--json', '--config', harnessConfig(h, dir, {}, { electrum: { partners: [partner(`http://127.0.0.1:${port}/qr/v1`, 'x')] } })]);
    expect(down.code).toBe(1);
    expect(down.json<Doctor>().checks.find((c) => c.name === 'electrum partner (partner-a)')).toMatchObject({ status: 'fail', detail: expect.stringContaining('unreachable') });
  });
});
