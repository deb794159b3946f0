import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startHarness, type Harness } from '../support/harness.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

// The shipped alert rules and dashboard (ops/) may name only metrics the daemon exports.
const root = resolve(import.meta.dirname, '../..');
const rulesFile = join(root, 'ops/prometheus/alerts.yml');
const dashboardFile = join(root, 'ops/grafana/tenderbridge-dashboard.json');

type Rules = { groups: Array<{ rules: Array<{ alert: string; expr: string; labels: { severity: string }; annotations: { summary: string; description: string } }> }> };
const rules = parse(readFileSync(rulesFile, 'utf8')) as Rules;
const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
const named = (expr: string) => [...expr.matchAll(/\btenderbridge_[a-z_]+\b/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));

let h: Harness;
let exported: Set<string>;
beforeAll(async () => {
  h = await startHarness();
  const text = await (await fetch(`${h.url}/metrics`)).text();
  exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
});
afterAll(async () => {
  await h.stop();
});

describe('the shipped monitoring', () => {
  it('alerts on what needs a person, each rule with a severity, a summary and a description', () => {
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((r) => r.alert)).toEqual(expect.arrayContaining(['TenderbridgeDown', 'TenderbridgeDeadLetters', 'TenderbridgeOutboxGrowing', 'TenderbridgeCallbackLag', 'TenderbridgePartPayTokenFailures', 'TenderbridgeDiskSlow', 'TenderbridgeDatabaseDamaged']));
    for (const r of alerts) expect([r.labels.severity, r.annotations.summary.length > 0, r.annotations.description.length > 0], r.alert).toEqual([expect.stringMatching(/^(page|warn)$/), true, true]);
  });

  it('names only metrics the daemon exports, in the rules and in the dashboard', () => {
    const used = [...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))].flatMap(named);
    expect(used.length).toBeGreaterThan(10);
    expect([...new Set(used)].filter((m) => !exported.has(m))).toEqual([]);
    expect(exported.has('tenderbridge_build_info')).toBe(true);
  });
});

describeWhenAvailable('the alert rules, checked by promtool', [tools.promtool()], () => {
  it('pass `promtool check rules`', () => {
    const run = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });
});
