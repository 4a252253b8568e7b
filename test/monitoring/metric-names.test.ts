/**
 * Every metric the Grafana dashboard and the alert rules name is one GET /metrics of the real
 * server (the compiled build, `npm run build` first) exposes: names read from its `# TYPE`
 * lines, which prom-client writes even for a metric with no series yet (an empty database).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/db/embedded-postgres';
import { useTestDatabase } from '../helpers/database';
import { startServerProcess, waitForListening, type ServerRun } from '../helpers/server-process';
import { dashboardQueries, loadAlertRules, loadDashboard, metricNamesIn, withVariablesSubstituted } from './monitoring-files';

jest.setTimeout(120_000);

/** Series Prometheus writes itself for every scrape target, not the application. */
const WRITTEN_BY_PROMETHEUS = new Set(['up']);
/** The series names a metric family of this type yields. */
const SERIES_SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

const t = useTestDatabase();
const METRICS_TOKEN = crypto.randomBytes(24).toString('hex');
let run: ServerRun | undefined;
let tempDir: string;

beforeAll(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-metric-names-'));
});
afterAll(async () => {
  if (run && run.child.exitCode === null) {
    run.child.kill('SIGTERM');
    await run.exited;
  }
  fs.rmSync(tempDir, { recursive: true, force: true });
});

function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    for (const suffix of SERIES_SUFFIXES[type!] ?? ['']) names.add(`${name}${suffix}`);
  }
  return names;
}

it('reads the metric names of a query from its syntax tree, not its functions, labels or variables', async () => {
  const expr = withVariablesSubstituted('histogram_quantile(0.95, sum by (le, route) (rate(outreach_http_request_duration_seconds_bucket{route=~"$route"}[$__rate_interval]))) / on (route) group_left max by (route) (up{job="outreach"})');
  expect((await metricNamesIn(expr)).sort()).toEqual(['outreach_http_request_duration_seconds_bucket', 'up']);
});

it('names in the dashboard and the alert rules only metrics that GET /metrics exposes', async () => {
  const configFile = path.join(tempDir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ orchestrator: { enabled: false }, sink: { enabled: false } }));
  const port = await findFreePort();
  run = startServerProcess({ DATABASE_URL: t.url, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, METRICS_BEARER_TOKEN: METRICS_TOKEN });
  await waitForListening(port, run);

  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const body = await res.text();
  expect({ status: res.status, body: res.status === 200 ? '' : body }).toEqual({ status: 200, body: '' });
  const exposed = exposedNames(body);

  const used = [
    ...dashboardQueries(loadDashboard()).map((query) => ({ where: `dashboard ${query.where}`, expr: withVariablesSubstituted(query.expr) })),
    ...loadAlertRules().map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
  ];
  const names = (await Promise.all(used.map(async ({ where, expr }) => (await metricNamesIn(expr)).map((name) => ({ where, name }))))).flat();
  expect(names.length).toBeGreaterThan(0);
  expect(names.filter(({ name }) => !exposed.has(name) && !WRITTEN_BY_PROMETHEUS.has(name))).toEqual([]);
});
