import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { fleetConfig, fleetOptions } from '../../src/demo/fleet.js';
import { eventually } from '../support/harness.js';
import { call } from '../support/http.js';
import { freeBasePort } from '../support/ports.js';
import { usePostgresServer } from '../support/postgres-server.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// `npm run demo:fleet`: the demo as two daemons on one PostgreSQL database. Started as a user
// would (the built script, TENDERBRIDGE_DATABASE_URL set); a payment made on daemon 2 is
// approved by the demo's PartPay simulator, whose callback daemon 1 takes, and daemon 2's
// long-poll hears it.

const ROOT = resolve(import.meta.dirname, '../..');

describeWhenAvailable('the demo as a fleet on PostgreSQL (npm run demo:fleet)', [tools.postgres()], () => {
  const postgres = usePostgresServer();

  it('reads --daemons and --base-port, refusing what it cannot use', () => {
    expect(fleetOptions([])).toEqual({ daemons: 2, basePort: 8480 });
    expect(fleetOptions(['--daemons=3', '--base-port=9000'])).toEqual({ daemons: 3, basePort: 9000 });
    expect(() => fleetOptions(['--daemons=1'])).toThrow('--daemons must be a whole number from 2 to 5, not "1"');
    const second = fleetConfig({ server: { host: '127.0.0.1', port: 8480 }, partpay: {}, simulators: { partpay: {}, electrumPartner: {} }, electrum: { partners: [{ id: 'w' }] } }, 2, { daemons: 2, basePort: 9000 });
    expect(second).toMatchObject({ server: { port: 9001 }, database: { kind: 'postgres' }, partpay: { callbackUrl: 'http://127.0.0.1:9000/partpay/callback' }, simulators: { partpay: { enabled: false } } });
  });

  it('runs two daemons: a payment made on the second is approved through the first and heard on the second', async () => {
    const url = await postgres().createDatabase();
    // The daemons listen on base and base+1, the simulators on base+10 and base+11: below the
    // kernel's ephemeral range, so another suite's freePort() cannot take one while the fleet starts.
    const basePort = await freeBasePort([0, 1, 10, 11]);
    const fleet = spawn(process.execPath, [resolve(ROOT, 'dist/demo/fleet.js'), `--base-port=${basePort}`], { cwd: ROOT, env: { ...process.env, TENDERBRIDGE_DATABASE_URL: url, CI: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    fleet.stdout.on('data', (d: Buffer) => (output += d.toString()));
    fleet.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((ok) => fleet.once('exit', (code) => ok(code)));
    try {
      const ready = eventually(() => output.includes('tenderbridge fleet ready: 2 daemons'), 90_000, 200);
      await Promise.race([
        ready.catch((error: Error) => Promise.reject(new Error(`${error.message}; demo:fleet printed:\n${output}`))),
        exited.then((code) => Promise.reject(new Error(`demo:fleet exited (${code}) before it was ready:\n${output}`))),
      ]);
      const second = `http://127.0.0.1:${basePort + 1}`;
      const auth = { Authorization: 'Bearer demo-terminal-key' };
      const created = await call<{ id: string; state: string; version: number }>(`${second}/v1/payments`, { headers: { ...auth, 'Idempotency-Key': 'fleet-demo-1' }, json: { amountMinor: 1250, currency: 'NZD', merchantReference: 'FLEET-1' } });
      expect(created.status, created.text).toBe(201);
      expect(created.body.state).toBe('awaiting_customer');
      // The demo's simulator approves after 8 s and calls back to daemon 1; daemon 2's long-poll is woken by it.
      const heard = await call<{ state: string }>(`${second}/v1/payments/${created.body.id}?wait=25&version=${created.body.version}`, { headers: auth });
      expect(heard.body.state, output).toBe('approved');
      // Decided by daemon 1 (it took the callback), told to daemon 2's till over the database.
      const approvals = (daemon: number) => output.split('\n').filter((line) => line.startsWith(`[daemon ${daemon}]`) && line.includes('payment state changed') && line.includes(created.body.id) && line.includes('approved'));
      expect(approvals(1)).toHaveLength(1);
      expect(approvals(2)).toEqual([]);
    } finally {
      fleet.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output).not.toContain(postgres().password);
  }, 150_000);
});
