/**
 * config/monitoring/alertmanager/alertmanager.example.yml: amtool accepts it, and it routes
 * critical alerts to Telegram and Slack, warnings to Slack, and a client's alerts to that
 * client's channel as well.
 */
import { ALERTMANAGER_EXAMPLE_FILE, amtool } from './monitoring-files';

jest.setTimeout(60_000);

/** The receivers amtool says an alert with these labels reaches. */
async function receiversOf(labels: Record<string, string>): Promise<string[]> {
  const run = await amtool(['config', 'routes', 'test', `--config.file=${ALERTMANAGER_EXAMPLE_FILE}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  expect(run.code).toBe(0);
  // stdout is the comma-separated receivers; stderr a warning about --alertmanager.url
  const line = run.output.split('\n').find((l) => /^[\w-]+(,[\w-]+)*$/.test(l.trim()));
  return (line ?? '').trim().split(',');
}

it('amtool check-config accepts the example', async () => {
  const run = await amtool(['check-config', ALERTMANAGER_EXAMPLE_FILE]);
  expect(run.output).toContain('SUCCESS');
  expect(run.code).toBe(0);
});

it('routes critical alerts to Telegram and Slack, warnings to Slack, a client\'s alerts to its own channel too', async () => {
  expect(await receiversOf({ alertname: 'OutreachMailboxSuspended', severity: 'critical' })).toEqual(['telegram-oncall', 'slack-ops']);
  expect(await receiversOf({ alertname: 'OutreachMailboxPaused', severity: 'warning' })).toEqual(['slack-ops']);
  expect(await receiversOf({ alertname: 'OutreachDomainSpamRateHigh', severity: 'warning', client: 'REPLACE_CLIENT_NAME' })).toEqual(['slack-client-acme', 'slack-ops']);
});
