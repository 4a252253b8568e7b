/**
 * The monitoring files of config/monitoring/ (Grafana dashboard, Prometheus rules) read for
 * the tests, the PromQL in them, and promtool (Debian `prometheus`) run on them.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../../src/config';

export const MONITORING_DIR = path.join(PROJECT_ROOT, 'config', 'monitoring');
export const DASHBOARD_FILE = path.join(MONITORING_DIR, 'grafana', 'outreach-dashboard.json');
export const ALERTS_FILE = path.join(MONITORING_DIR, 'prometheus', 'alerts.yml');
export const ALERTS_TEST_FILE = path.join(MONITORING_DIR, 'prometheus', 'alerts.test.yml');

export interface DashboardTarget {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: DashboardTarget[];
  fieldConfig?: { defaults: { thresholds?: { steps: { color: string; value: number | null }[] } } };
}
export interface DashboardVariable {
  name: string;
  type: string;
  query: { query: string } | string;
  datasource?: { type: string; uid: string };
}
export interface Dashboard {
  uid: string;
  title: string;
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: DashboardVariable[] };
  panels: DashboardPanel[];
}

export function loadDashboard(): Dashboard {
  return JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every PromQL query of the dashboard: panel targets and the selectors of label_values() variables. */
export function dashboardQueries(dashboard: Dashboard): { where: string; expr: string }[] {
  const panels = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel ${panel.id} "${panel.title}" ${target.refId}`, expr: target.expr })));
  const variables = dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
      // label_values(<selector>, <label>): the selector is the PromQL part.
      const selector = /^label_values\((.+),\s*[a-zA-Z_]\w*\s*\)$/.exec(query.trim())?.[1];
      if (!selector) throw new Error(`variable ${variable.name}: expected label_values(<selector>, <label>), got ${query}`);
      return { where: `variable ${variable.name}`, expr: selector };
    });
  return [...panels, ...variables];
}

/**
 * Grafana's variables replaced the way Grafana would: interval variables by a duration, the
 * dashboard's own (client, domain, mailbox, all multi-valued) by the regex of "All".
 */
export function withVariablesSubstituted(expr: string): string {
  return expr.replace(/\$\{?(__\w+)\}?/g, '5m').replace(/\$\{?(\w+)\}?/g, '.*');
}

export interface AlertRule {
  alert: string;
  expr: string;
}
export function loadAlertRules(): AlertRule[] {
  const file = parseYaml(fs.readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

export interface RuleUnitTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}
export function loadAlertUnitTests(): RuleUnitTests {
  return parseYaml(fs.readFileSync(ALERTS_TEST_FILE, 'utf8')) as RuleUnitTests;
}

/**
 * The metric names a PromQL expression selects (not functions, labels or keywords), read from
 * the syntax tree of Prometheus's own PromQL grammar. Imported dynamically: the package is an
 * ES module to TypeScript (it also ships the CommonJS build that runs here).
 */
export async function metricNamesIn(expr: string): Promise<string[]> {
  const { parser } = await import('@prometheus-io/lezer-promql');
  const names = new Set<string>();
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.add(expr.slice(node.from, node.to));
    },
  });
  return [...names];
}

export interface ToolRun {
  code: number;
  output: string;
}
/** promtool with these arguments; resolves with its exit code and output, whatever the code. */
export function promtool(args: string[], cwd?: string): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile('promtool', args, { cwd }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`promtool could not run (install Debian "prometheus"): ${error.message}`));
      resolve({ code: error ? Number(error.code) : 0, output: `${stdout}${stderr}` });
    });
  });
}

export const ALERTMANAGER_EXAMPLE_FILE = path.join(MONITORING_DIR, 'alertmanager', 'alertmanager.example.yml');

/** amtool (Debian `prometheus-alertmanager`) with these arguments, like promtool(). */
export function amtool(args: string[]): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile('amtool', args, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`amtool could not run (install Debian "prometheus-alertmanager"): ${error.message}`));
      resolve({ code: error ? Number(error.code) : 0, output: `${stdout}${stderr}` });
    });
  });
}
