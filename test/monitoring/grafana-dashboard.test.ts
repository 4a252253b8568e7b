/**
 * config/monitoring/grafana/outreach-dashboard.json: importable (stable uid, a Prometheus
 * datasource input every panel uses, the client / domain / mailbox variables), the complaint
 * panel drawn against the Gmail / Yahoo lines, and every query valid PromQL: each is loaded,
 * with Grafana's variables substituted, into a generated rules file for `promtool check rules`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dashboardQueries, loadDashboard, promtool, withVariablesSubstituted, type DashboardPanel } from './monitoring-files';

jest.setTimeout(60_000);

const dashboard = loadDashboard();
const DATASOURCE = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
let tempDir: string;

beforeAll(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-dashboard-'));
});
afterAll(() => fs.rmSync(tempDir, { recursive: true, force: true }));

/** A rules file recording each query, as promtool reads it (JSON is YAML). */
function rulesFileOf(queries: { expr: string }[]): string {
  const file = path.join(tempDir, `queries-${Date.now()}-${Math.random().toString(36).slice(2)}.yml`);
  const rules = queries.map((query, i) => ({ record: `dashboard:query_${i}`, expr: withVariablesSubstituted(query.expr) }));
  fs.writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
  return file;
}

const queryPanels = (): DashboardPanel[] => dashboard.panels.filter((panel) => panel.type !== 'row');

it('has a stable uid and asks for a Prometheus datasource on import, which every panel and query uses', () => {
  expect(dashboard.uid).toBe('outreach-platform');
  expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
  expect(queryPanels().length).toBeGreaterThan(0);
  for (const panel of queryPanels()) {
    expect({ panel: panel.title, datasource: panel.datasource }).toEqual({ panel: panel.title, datasource: DATASOURCE });
    expect(panel.targets?.length).toBeGreaterThan(0);
    for (const target of panel.targets ?? []) expect({ panel: panel.title, datasource: target.datasource }).toEqual({ panel: panel.title, datasource: DATASOURCE });
  }
  const ids = dashboard.panels.map((panel) => panel.id);
  expect(new Set(ids).size).toBe(ids.length);
});

it('offers client, domain and mailbox variables read from the metrics labels, each narrowing the next', () => {
  const variables = dashboard.templating.list.map((v) => ({ name: v.name, type: v.type, datasource: v.datasource, query: typeof v.query === 'string' ? v.query : v.query.query }));
  expect(variables).toEqual([
    { name: 'client', type: 'query', datasource: DATASOURCE, query: 'label_values(outreach_mailbox_up, client)' },
    { name: 'domain', type: 'query', datasource: DATASOURCE, query: 'label_values(outreach_mailbox_up{client=~"$client"}, domain)' },
    { name: 'mailbox', type: 'query', datasource: DATASOURCE, query: 'label_values(outreach_mailbox_up{client=~"$client",domain=~"$domain"}, mailbox)' },
  ]);
});

it('draws the spam complaint rate against the 0.1 % and 0.3 % lines of Gmail and Yahoo', () => {
  const panel = queryPanels().find((p) => p.targets?.some((t) => t.expr.includes('outreach_domain_complaint_rate')));
  expect(panel?.fieldConfig?.defaults.thresholds?.steps.map((step) => step.value)).toEqual([null, 0.001, 0.003]);
});

it('has only valid PromQL: every query, variables substituted, passes promtool check rules', async () => {
  const queries = dashboardQueries(dashboard);
  const run = await promtool(['check', 'rules', rulesFileOf(queries)]);
  expect(run.output).toContain(`SUCCESS: ${queries.length} rules found`);
  expect(run.code).toBe(0);
});

it('the PromQL check rejects a query that is not valid PromQL', async () => {
  const run = await promtool(['check', 'rules', rulesFileOf([{ expr: 'sum by (domain) (rate(outreach_sends_total[$__rate_interval])' }])]);
  expect(run.code).not.toBe(0);
  expect(run.output).toMatch(/unclosed left parenthesis|unexpected/);
});
