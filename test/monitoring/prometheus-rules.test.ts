/**
 * config/monitoring/prometheus/alerts.yml: promtool accepts it, and its unit tests
 * (alerts.test.yml, input series for every rule) pass, showing each rule firing and not firing.
 */
import path from 'node:path';
import { ALERTS_FILE, ALERTS_TEST_FILE, loadAlertRules, loadAlertUnitTests, promtool } from './monitoring-files';

jest.setTimeout(60_000);

it('promtool check rules accepts the alert rules', async () => {
  const run = await promtool(['check', 'rules', ALERTS_FILE]);
  expect(run.output).toContain(`SUCCESS: ${loadAlertRules().length} rules found`);
  expect(run.code).toBe(0);
});

it('promtool test rules passes the unit tests of the alert rules', async () => {
  const run = await promtool(['test', 'rules', path.basename(ALERTS_TEST_FILE)], path.dirname(ALERTS_TEST_FILE));
  expect(run.output).toContain('SUCCESS');
  expect(run.code).toBe(0);
});

it('the unit tests show every alert rule both firing and not firing', () => {
  const cases = loadAlertUnitTests().tests.flatMap((test) => test.alert_rule_test ?? []);
  const fires = new Set(cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
  const staysQuiet = new Set(cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
  const alerts = loadAlertRules().map((rule) => rule.alert);
  expect(alerts.length).toBeGreaterThan(0);
  expect(alerts.filter((alert) => !fires.has(alert))).toEqual([]);
  expect(alerts.filter((alert) => !staysQuiet.has(alert))).toEqual([]);
});
