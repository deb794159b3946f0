import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previousLocalDay } from '../../src/jobs/report.js';
import { guarded } from '../../src/jobs/scheduler.js';
import { createLogger } from '../../src/shared/logger.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

// The jobs run through the daemon's backend (SQLite's file, or PostgreSQL): this file holds for
// either database. The backup job, which only a SQLite file has, is tested in jobs.sqlite.test.ts.
let h: Harness;
let reportsDir: string;
beforeAll(async () => {
  reportsDir = mkdtempSync(join(tmpdir(), 'tb-report-'));
  h = await startHarness({ config: { reports: { dir: reportsDir } } });
});
afterAll(async () => {
  await h.stop();
  rmSync(reportsDir, { recursive: true, force: true });
});

const create = async (amountMinor: number) => (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor, currency: 'NZD', merchantReference: `J-${amountMinor}` } })).body;

describe('scheduled jobs, each run by calling run()', () => {
  it('registers every job with a schedule (the backup job only where the database is a file)', () => {
    const backup = h.backend === 'sqlite' ? ['backup'] : [];
    expect(h.daemon.jobs.map((j) => j.name).sort()).toEqual([...backup, 'deliver-outbox', 'expire', 'purge', 'readiness-probe', 'reconcile', 'report']);
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
    await h.sql('UPDATE payments SET final_at = ? WHERE id = ?', Date.now() - 401 * 86_400_000, old.id);
    await h.sql('UPDATE payments SET created_at = ? WHERE id = ?', Date.now() - 500 * 86_400_000, open.id);
    const result = await h.daemon.backend.purge(Date.now(), { paymentDays: 400, otherDays: 90, idempotencyKeyHours: 48 });
    expect(result.payments).toBe(1);
    const payments = h.daemon.store.repos.payments;
    expect(await payments.get(old.id)).toBeNull();
    expect(await payments.events(old.id)).toEqual([]);
    expect(await h.sql('SELECT count(*) AS n FROM payment_events WHERE payment_id = ?', old.id)).toEqual([{ n: 0 }]);
    expect((await payments.get(recent.id))?.state).toBe('approved');
    expect((await payments.get(open.id))?.state).toBe('awaiting_customer');
  });

  it("writes yesterday's end-of-day report as CSV into reports.dir", async () => {
    const yesterdayNoon = previousLocalDay(Date.now()).from + 12 * 3_600_000;
    await h.sql("UPDATE payments SET created_at = ? WHERE state = 'approved'", yesterdayNoon);
    const file = (await h.daemon.jobs.find((j) => j.name === 'report')?.run()) as string;
    expect(file).toBe(join(reportsDir, `report-${previousLocalDay(Date.now()).date}.csv`));
    expect(existsSync(file)).toBe(true);
    const csv = readFileSync(file, 'utf8');
    expect(csv.split('\n')[0]).toMatch(/store/i);
    expect(csv).toContain('TERM0001');
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
        reports: { dir: reportsDir },
        jobs: { deliverOutbox: EVERY_SECOND, reconcile: EVERY_SECOND, expire: EVERY_SECOND, purge: EVERY_SECOND, report: EVERY_SECOND, readinessProbe: EVERY_SECOND },
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
  const outboxOf = (id: string) => s.daemon.store.repos.outbox.ofPayment(id);

  it('deliver-outbox: a cancel owed while PartPay failed reaches PartPay once it answers again', async () => {
    const p = await createIn(5101);
    const orderId = p.partpay?.orderId as string;
    // PartPay answers 5xx for a moment: the cancel is owed (closing the simulator would stop its callbacks for good)
    s.sim.setFaults({ api: { error5xx: 1 } });
    try {
      expect((await call<PaymentJson>(`${s.url}/v1/payments/${p.id}/cancel`, { method: 'POST', headers: s.auth() })).body.state).toBe('cancelled');
      expect(await outboxOf(p.id)).toEqual([expect.objectContaining({ kind: 'upstream.cancel', state: 'pending' })]);
      // the round the cancel's commit kicked has tried and failed: from now on only the schedule sends it
      await eventually(async () => ((await outboxOf(p.id))[0]?.attempts ?? 0) >= 1);
    } finally {
      s.sim.setFaults({});
    }
    // nothing kicks the deliverer now: only its schedule can deliver the cancel
    await eventually(() => s.sim.getOrder(orderId)?.status === 'cancelled', ROUNDS_MS);
    await eventually(async () => (await outboxOf(p.id))[0]?.state === 'done', ROUNDS_MS);
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
    await s.sql('UPDATE payments SET created_at = ? WHERE id = ?', Date.now() - 60_000, p.id);
    await eventually(async () => (await stateOf(p.id)) === 'approved', ROUNDS_MS);
    expect((await s.daemon.store.repos.payments.events(p.id)).some((e) => e.kind === 'reconcile')).toBe(true);
  });

  it('expire: a payment past its deadline is expired', async () => {
    const p = await createIn(5103);
    await s.sql('UPDATE payments SET expires_at = ? WHERE id = ?', Date.now() - 1, p.id);
    await eventually(async () => (await stateOf(p.id)) === 'expired', ROUNDS_MS);
  });

  it('purge: a payment settled past retention is deleted', async () => {
    const p = await createIn(5104);
    await s.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await stateOf(p.id)) === 'approved');
    // retention.paymentDays defaults to 400
    await s.sql('UPDATE payments SET final_at = ? WHERE id = ?', Date.now() - 401 * 86_400_000, p.id);
    await eventually(async () => (await s.daemon.store.repos.payments.get(p.id)) === null, ROUNDS_MS);
  });

  it("report: yesterday's report is written into reports.dir", async () => {
    const day = new Date(previousLocalDay(Date.now()).from);
    const name = `report-${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}.csv`;
    await eventually(() => existsSync(join(reportsDir, name)), ROUNDS_MS);
  });

  it('readiness-probe: /readyz reports a fresh probe after the clock moved on', async () => {
    const detail = async () => (await call<{ checks: { database: { detail?: string } } }>(`${s.url}/readyz`)).body.checks.database.detail ?? '';
    s.advanceClock(600_000);
    // the next round probes again, at the new time
    await eventually(async () => /probed [0-9] s ago/.test(await detail()), ROUNDS_MS);
  });
});
