import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpiredData } from '../../src/jobs/purge.js';
import { previousLocalDay, writeYesterdaysReport } from '../../src/jobs/report.js';
import { guarded } from '../../src/jobs/scheduler.js';
import { createLogger } from '../../src/shared/logger.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { backups: { keep: 2 } } });
});
afterAll(async () => {
  await h.stop();
});

const create = async (amountMinor: number) => (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor, currency: 'NZD', merchantReference: `J-${amountMinor}` } })).body;

describe('scheduled jobs, each run by calling run()', () => {
  it('registers every job with a schedule', () => {
    expect(h.daemon.jobs.map((j) => j.name).sort()).toEqual(['backup', 'deliver-outbox', 'expire', 'purge', 'readiness-probe', 'reconcile', 'report']);
  });

  it('never runs two rounds of a job at once, and logs a failing round without stopping the next', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const job = guarded(
      {
        name: 'slow',
        schedule: '* * * * *',
        run: async () => {
          calls += 1;
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          // still running while the other two calls are made
          await new Promise((r) => setImmediate(r));
          running -= 1;
          if (calls === 1) throw new Error('boom');
        },
      },
      createLogger({ level: 'error', silent: true }),
    );
    await Promise.all([job.run(), job.run(), job.run()]);
    expect(maxRunning).toBe(1);
    expect(calls).toBe(1);
    await job.run();
    expect(calls).toBe(2);
  });

  it('purges settled payments past retention with their journal, and keeps open and recent ones', async () => {
    const old = await create(1111);
    await h.sim.approve(old.partpay?.orderId as string);
    await eventually(async () => (await call<PaymentJson>(`${h.url}/v1/payments/${old.id}`, { headers: h.auth() })).body.state === 'approved');
    const recent = await create(2222);
    await h.sim.approve(recent.partpay?.orderId as string);
    await eventually(async () => (await call<PaymentJson>(`${h.url}/v1/payments/${recent.id}`, { headers: h.auth() })).body.state === 'approved');
    const open = await create(3333);
    h.daemon.db.prepare('UPDATE payments SET final_at = ? WHERE id = ?').run(Date.now() - 401 * 86_400_000, old.id);
    h.daemon.db.prepare('UPDATE payments SET created_at = ? WHERE id = ?').run(Date.now() - 500 * 86_400_000, open.id);
    const result = await purgeExpiredData(h.daemon.db, Date.now(), { paymentDays: 400, otherDays: 90, idempotencyKeyHours: 48 });
    expect(result.payments).toBe(1);
    expect(h.daemon.payments.get(old.id)).toBeNull();
    expect(h.daemon.payments.events(old.id)).toEqual([]);
    expect(h.daemon.payments.get(recent.id)?.state).toBe('approved');
    expect(h.daemon.payments.get(open.id)?.state).toBe('awaiting_customer');
  });

  it("writes yesterday's end-of-day report as CSV", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-report-'));
    try {
      const yesterdayNoon = previousLocalDay(Date.now()).from + 12 * 3_600_000;
      h.daemon.db.prepare("UPDATE payments SET created_at = ? WHERE state = 'approved'").run(yesterdayNoon);
      const file = writeYesterdaysReport(h.daemon.db, dir, Date.now());
      expect(existsSync(file)).toBe(true);
      expect(file).toMatch(/report-\d{4}-\d\d-\d\d\.csv$/);
      const csv = readFileSync(file, 'utf8');
      expect(csv.split('\n')[0]).toMatch(/store/i);
      expect(csv).toContain('TERM0001');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backs the live database up online into backups.dir, keeping the newest backups.keep', async () => {
    const job = h.daemon.jobs.find((j) => j.name === 'backup');
    const dir = join(dirname(h.dbPath), 'backups');
    const files: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      // a payment committed just before each round is in that round's copy
      await create(4000 + i);
      files.push((await job?.run()) as string);
      h.advanceClock(60_000);
    }
    expect(files.every((f) => /\/backups\/tenderbridge-\d{8}T\d{6}\.\d{3}Z\.db$/.test(f))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(files.slice(1).map((f) => basename(f)));
    const copy = new Database(files[2] as string, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      const amounts = (copy.prepare('SELECT amount_minor FROM payments').all() as Array<{ amount_minor: number }>).map((r) => r.amount_minor);
      expect(amounts).toEqual(expect.arrayContaining([4000, 4001, 4002]));
    } finally {
      copy.close();
    }
    expect(h.logs.some((l) => l.includes('database backup written'))).toBe(true);
  });
});

// Every job on a schedule of every second, each observed through what it does, with no run()
// called: a job left off its schedule never does it, and the wait runs out.
describe('scheduled jobs, each run by its schedule', () => {
  const EVERY_SECOND = '* * * * * *';
  let s: Harness;
  let reportsDir: string;
  beforeAll(async () => {
    reportsDir = mkdtempSync(join(tmpdir(), 'tb-scheduled-reports-'));
    s = await startHarness({
      config: {
        backups: { keep: 2 },
        reports: { dir: reportsDir },
        jobs: { deliverOutbox: EVERY_SECOND, reconcile: EVERY_SECOND, expire: EVERY_SECOND, purge: EVERY_SECOND, report: EVERY_SECOND, readinessProbe: EVERY_SECOND, backup: EVERY_SECOND },
      },
    });
  });
  afterAll(async () => {
    await s.stop();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  // A few rounds of a one-second schedule, with room for a loaded box.
  const ROUNDS_MS = 15_000;
  const createIn = async (amountMinor: number) => (await call<PaymentJson>(`${s.url}/v1/payments`, { headers: s.auth(), json: { amountMinor, currency: 'NZD', merchantReference: `S-${amountMinor}` } })).body;
  const stateOf = async (id: string) => (await call<PaymentJson>(`${s.url}/v1/payments/${id}`, { headers: s.auth() })).body.state;

  it('deliver-outbox: a cancel owed while PartPay failed reaches PartPay once it answers again', async () => {
    const p = await createIn(5101);
    const orderId = p.partpay?.orderId as string;
    // PartPay answers 5xx for a moment: the cancel is owed (closing the simulator would stop its callbacks for good)
    s.sim.setFaults({ api: { error5xx: 1 } });
    try {
      expect((await call<PaymentJson>(`${s.url}/v1/payments/${p.id}/cancel`, { method: 'POST', headers: s.auth() })).body.state).toBe('cancelled');
      expect(s.daemon.outbox.ofPayment(p.id)).toEqual([expect.objectContaining({ kind: 'upstream.cancel', state: 'pending' })]);
      // the round the cancel's commit kicked has tried and failed: from now on only the schedule sends it
      await eventually(() => (s.daemon.outbox.ofPayment(p.id)[0]?.attempts ?? 0) >= 1);
    } finally {
      s.sim.setFaults({});
    }
    // nothing kicks the deliverer now: only its schedule can deliver the cancel
    await eventually(() => s.sim.getOrder(orderId)?.status === 'cancelled', ROUNDS_MS);
    await eventually(() => s.daemon.outbox.ofPayment(p.id)[0]?.state === 'done', ROUNDS_MS);
  });

  it('reconcile: an approval whose callback was lost is learnt from PartPay', async () => {
    const p = await createIn(5102);
    s.sim.setFaults({ callbacks: { drop: 1 } });
    try {
      await s.sim.approve(p.partpay?.orderId as string);
      await eventually(() => s.sim.faults().injected['callbacks.drop'] === 1);
    } finally {
      s.sim.setFaults({});
    }
    expect(await stateOf(p.id)).toBe('awaiting_customer');
    // overdue: created before payments.callbackOverdueSeconds (30 s)
    s.daemon.db.prepare('UPDATE payments SET created_at = ? WHERE id = ?').run(Date.now() - 60_000, p.id);
    await eventually(async () => (await stateOf(p.id)) === 'approved', ROUNDS_MS);
    expect(s.daemon.payments.events(p.id).some((e) => e.kind === 'reconcile')).toBe(true);
  });

  it('expire: a payment past its deadline is expired', async () => {
    const p = await createIn(5103);
    s.daemon.db.prepare('UPDATE payments SET expires_at = ? WHERE id = ?').run(Date.now() - 1, p.id);
    await eventually(async () => (await stateOf(p.id)) === 'expired', ROUNDS_MS);
  });

  it('purge: a payment settled past retention is deleted', async () => {
    const p = await createIn(5104);
    await s.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await stateOf(p.id)) === 'approved');
    // retention.paymentDays defaults to 400
    s.daemon.db.prepare('UPDATE payments SET final_at = ? WHERE id = ?').run(Date.now() - 401 * 86_400_000, p.id);
    await eventually(() => s.daemon.payments.get(p.id) === null, ROUNDS_MS);
  });

  it("report: yesterday's report is written into reports.dir", async () => {
    const day = new Date(previousLocalDay(Date.now()).from);
    const name = `report-${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}.csv`;
    await eventually(() => existsSync(join(reportsDir, name)), ROUNDS_MS);
  });

  it('backup: a copy of the database is written into backups.dir', async () => {
    const dir = join(dirname(s.dbPath), 'backups');
    await eventually(() => existsSync(dir) && readdirSync(dir).some((f) => /^tenderbridge-\d{8}T\d{6}\.\d{3}Z\.db$/.test(f)), ROUNDS_MS);
  });

  it('readiness-probe: /readyz reports a fresh probe after the clock moved on', async () => {
    const detail = async () => (await call<{ checks: { database: { detail?: string } } }>(`${s.url}/readyz`)).body.checks.database.detail ?? '';
    s.advanceClock(600_000);
    // the next round probes again, at the new time
    await eventually(async () => /probed [0-9] s ago/.test(await detail()), ROUNDS_MS);
  });
});
