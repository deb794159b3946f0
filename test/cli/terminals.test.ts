import { readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';
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
