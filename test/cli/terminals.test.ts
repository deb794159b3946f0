import { readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, OTHER_TERMINAL_KEY, startHarness, TERMINAL_KEY, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { harnessConfig, runTb, tempDir } from './support.js';

let h: Harness;
let dir: string;
let config: string;

beforeAll(async () => {
  h = await startHarness();
  dir = tempDir();
  config = harnessConfig(h, dir);
});
afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

const whoAmI = (key: string) => call<{ terminal?: { id: string } } & Record<string, unknown>>(`${h.url}/v1/terminal`, { headers: { Authorization: `Bearer ${key}` } });
const keyFrom = (stdout: string): string => /(tb_[A-Za-z0-9_-]{32})(?![A-Za-z0-9_-])/.exec(stdout)?.[1] ?? '';

describe('tenderbridge terminals', () => {
  it('adds a terminal, prints its key once, and the running daemon accepts the key', async () => {
    const run = await runTb(['terminals', 'add', 'LANE-7', '--store', 'S1', '--profile', 'jpegMono', '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    const key = keyFrom(run.stdout);
    expect(key).toMatch(/^tb_[A-Za-z0-9_-]{32}$/);
    expect(run.stdout.split(key)).toHaveLength(2); // printed exactly once
    expect(run.stdout).toMatch(/shown ONCE/);
    const me = await whoAmI(key);
    expect(me.status, me.text).toBe(200);
    expect(me.text).toContain('LANE-7');
    expect(me.text).toContain('jpeg');
    // only the hash is stored, nowhere the key
    const db = new Database(h.dbPath, { readonly: true });
    const row = db.prepare('SELECT api_key_hash, source FROM terminals WHERE id = ?').get('LANE-7') as { api_key_hash: string; source: string };
    db.close();
    expect(row).toMatchObject({ source: 'cli', api_key_hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(readFileSync(h.dbPath).includes(Buffer.from(key))).toBe(false);
    expect(h.daemon.registry.authenticate(key)?.id).toBe('LANE-7');
  });

  it('refuses an id that exists and points to rotate-key', async () => {
    const run = await runTb(['terminals', 'add', 'TERM0001', '--store', 'S1', '--config', config]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('terminals rotate-key TERM0001');
    expect(run.stdout).not.toMatch(/tb_/);
  });

  it('refuses an unknown store or profile, and a malformed id as a usage error', async () => {
    expect((await runTb(['terminals', 'add', 'T-NEW', '--store', 'S9', '--config', config])).stderr).toContain('no store "S9"');
    expect((await runTb(['terminals', 'add', 'T-NEW', '--store', 'S1', '--profile', 'huge', '--config', config])).stderr).toContain('no display profile "huge"');
    expect((await runTb(['terminals', 'add', 'bad id!', '--store', 'S1', '--config', config])).code).toBe(2);
  });

  it('rotates a key: the new one works, the old one stops at once', async () => {
    const added = await runTb(['--json', 'terminals', 'add', 'LANE-8', '--store', 'S1', '--config', config]);
    const first = added.json<{ apiKey: string; apiKeyHash: string }>();
    expect((await whoAmI(first.apiKey)).status).toBe(200);
    const rotated = await runTb(['terminals', 'rotate-key', 'LANE-8', '--config', config]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const second = keyFrom(rotated.stdout);
    expect(second).not.toBe(first.apiKey);
    expect((await whoAmI(first.apiKey)).status).toBe(401);
    expect((await whoAmI(second)).status).toBe(200);
    expect((await runTb(['terminals', 'rotate-key', 'NOPE', '--config', config])).code).toBe(1);
  });

  it('lists terminals from config and CLI with their source and profile, as a table or JSON', async () => {
    const table = await runTb(['terminals', 'list', '--config', config]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/LANE-7.*S1.*m1.*cli.*jpegMono.*no/);
    expect(table.stdout).toMatch(/TERM0001.*S1.*m1.*config.*default/);
    const json = await runTb(['terminals', 'list', '--json', '--config', config]);
    const list = json.json<{ terminals: Array<{ id: string; source: string; profile: string; disabled: boolean }> }>().terminals;
    expect(list.map((t) => t.id)).toEqual(expect.arrayContaining(['TERM0001', 'TERM0002', 'LANE-7', 'LANE-8']));
    expect(list.find((t) => t.id === 'TERM0002')).toMatchObject({ source: 'config', profile: 'jpegMono', disabled: false });
  });

  it('refuses to add or re-key a terminal the config file declares (config wins at start)', async () => {
    const declaring = harnessConfig(h, dir, {}, { terminals: [{ id: 'TERM0001', store: 'S1', apiKey: 'x' }] });
    const run = await runTb(['terminals', 'rotate-key', 'TERM0001', '--config', declaring]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('declared in the config file');
  });
});

describe('tenderbridge terminals disable, enable, remove', () => {
  const addTerminal = async (id: string) => (await runTb(['--json', 'terminals', 'add', id, '--store', 'S1', '--config', config])).json<{ apiKey: string }>().apiKey;

  it('disable: the running daemon refuses the key with 401 from the next request on; enable: it works again', async () => {
    const key = await addTerminal('LANE-9');
    expect((await whoAmI(key)).status).toBe(200);
    const off = await runTb(['terminals', 'disable', 'LANE-9', '--config', config]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain('terminal LANE-9 disabled');
    const refused = await whoAmI(key);
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('disabled');
    expect((await runTb(['terminals', 'list', '--config', config])).stdout).toMatch(/LANE-9.*cli.*yes/);
    expect((await runTb(['terminals', 'disable', 'LANE-9', '--config', config])).stdout).toContain('already disabled');
    const on = await runTb(['--json', 'terminals', 'enable', 'LANE-9', '--config', config]);
    expect(on.json()).toEqual({ terminal: 'LANE-9', disabled: false, changed: true });
    expect((await whoAmI(key)).status).toBe(200);
    expect((await runTb(['terminals', 'disable', 'NOPE', '--config', config])).stderr).toContain('no terminal NOPE');
  });

  it('disables a terminal the config file declares, and it stays disabled across a daemon restart', async () => {
    expect((await runTb(['terminals', 'disable', 'TERM0002', '--config', config])).code).toBe(0);
    expect((await whoAmI(OTHER_TERMINAL_KEY)).status).toBe(401);
    await h.restart();
    // (the first request may meet a kept-alive connection to the stopped daemon: retried)
    await eventually(async () => (await whoAmI(OTHER_TERMINAL_KEY)).status === 401);
    expect((await runTb(['terminals', 'enable', 'TERM0002', '--config', config])).code).toBe(0);
    expect((await whoAmI(OTHER_TERMINAL_KEY)).status).toBe(200);
  });

  it('remove: refused while a payment is open; once it is final, the terminal and its key go and its payments stay', async () => {
    const key = await addTerminal('LANE-10');
    const auth = { Authorization: `Bearer ${key}` };
    const created = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: auth, json: { amountMinor: 1234, currency: 'NZD', merchantReference: 'RM-1' } });
    expect(created.status, created.text).toBe(201);
    const refused = await runTb(['terminals', 'remove', 'LANE-10', '--config', config]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('terminal LANE-10 has 1 payment(s) still open');
    expect((await whoAmI(key)).status).toBe(200);

    await h.sim.approve(created.body.partpay?.orderId as string);
    await eventually(() => h.daemon.payments.get(created.body.id)?.state === 'approved');
    const removed = await runTb(['terminals', 'remove', 'LANE-10', '--config', config]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('Its 1 payment(s) and their history are kept under the id LANE-10');
    expect((await whoAmI(key)).status).toBe(401);
    expect((await runTb(['terminals', 'list', '--config', config])).stdout).not.toContain('LANE-10');
    const history = await runTb(['--json', 'payments', 'list', '--terminal', 'LANE-10', '--config', config]);
    expect(JSON.stringify(history.json())).toContain(created.body.id);
  });

  it('remove refuses a terminal the config file declares, and an unknown one', async () => {
    const declaring = harnessConfig(h, dir, {}, { terminals: [{ id: 'TERM0001', store: 'S1', apiKey: TERMINAL_KEY }] });
    const declared = await runTb(['terminals', 'remove', 'TERM0001', '--config', declaring]);
    expect(declared.code).toBe(1);
    expect(declared.stderr).toContain('declared in the config file');
    expect((await whoAmI(TERMINAL_KEY)).status).toBe(200);
    expect((await runTb(['terminals', 'remove', 'NOPE', '--config', config])).stderr).toContain('no terminal NOPE');
  });
});
