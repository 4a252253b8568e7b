/**
 * Campaign page (/campaigns/:id): status and start / pause / resume / cancel (writers only;
 * cancel asks first), when sending begins after a start or resume (the API says), the figures
 * in cards, per day in charts, per step and per mailbox in tables. Figures refresh every 15 s.
 */
import '../components/campaign-styles.css';
import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, ApiError, getAll } from '../api';
import type { Account, Campaign, CampaignEngagement, CampaignStats, LifecycleResult } from '../components/campaign-model';
import { describeDelay, DAY_NAMES, minuteToTime } from '../components/campaign-model';
import { BreakdownTable, DailyCharts, StatsCards } from '../components/campaign-stats';
import { Button, ErrorBanner, formatDateTime, Loading, Notice, PageHeader, StatusBadge } from '../components/ui';
import { useAction, useApi } from '../components/use-api';
import { canWrite, useUser } from '../session';

type Action = 'start' | 'pause' | 'resume' | 'cancel';
const ACTIONS: Record<Campaign['status'], Action[]> = { draft: ['start'], running: ['pause', 'cancel'], paused: ['resume', 'cancel'], completed: [], cancelled: [] };
const ACTION_LABELS: Record<Action, string> = { start: 'Start', pause: 'Pause', resume: 'Resume', cancel: 'Cancel campaign' };

export function CampaignPage() {
  const { params } = useRoute();
  const id = params.id as string;
  const user = useUser();
  const writable = canWrite(user);
  const campaign = useApi(() => api.get<Campaign>(`/campaigns/${id}`), [id]);
  const stats = useApi(() => api.get<CampaignStats>(`/campaigns/${id}/stats`), [id], { pollMs: 15_000 });
  const engagement = useApi(() => api.get<CampaignEngagement>(`/campaigns/${id}/stats/engagement`), [id], { pollMs: 15_000 });
  const accounts = useApi(async () => new Map((await getAll<Account>('/accounts', 'accounts')).map((a) => [a.id, a.email])), [id]);
  const action = useAction();
  const [result, setResult] = useState<LifecycleResult | null>(null);
  const [confirmingCancel, setConfirmingCancel] = useState(false);

  const run = async (what: Action) => {
    setConfirmingCancel(false);
    const answer = await action.run(() => api.post<LifecycleResult>(`/campaigns/${id}/${what}`));
    if (answer) {
      setResult(answer);
      await Promise.all([campaign.reload(), stats.reload()]);
    }
  };

  if (campaign.error) {
    const missing = campaign.error instanceof ApiError && campaign.error.status === 404;
    return (
      <section>
        <PageHeader title="Campaign" />
        <ErrorBanner error={missing ? new Error('This campaign does not exist or is not yours to see.') : campaign.error} />
        <a href="/campaigns">Back to campaigns</a>
      </section>
    );
  }
  const c = campaign.data;
  if (!c) return <Loading what="Loading the campaign" />;
  const days = [...c.sendDays].sort().map((d) => DAY_NAMES[d - 1]).join(', ');

  return (
    <section>
      <PageHeader title={c.name}>
        <StatusBadge status={c.status} />
        {writable &&
          ACTIONS[c.status].map((what) =>
            what === 'cancel' ? (
              <Button key={what} kind="danger" busy={action.busy} onClick={() => setConfirmingCancel(true)}>
                {ACTION_LABELS[what]}
              </Button>
            ) : (
              <Button key={what} kind="primary" busy={action.busy} onClick={() => void run(what)}>
                {ACTION_LABELS[what]}
              </Button>
            ),
          )}
        {writable && (c.status === 'draft' || c.status === 'running' || c.status === 'paused') && (
          <a class="btn btn-plain" href={`/campaigns/${id}/edit`}>
            Edit
          </a>
        )}
      </PageHeader>
      {confirmingCancel && (
        <div class="banner banner-warn" role="alertdialog" aria-labelledby="cancel-question">
          <p id="cancel-question">Cancel this campaign? Every message still waiting is cancelled; this cannot be undone.</p>
          <div class="page-actions">
            <Button kind="danger" onClick={() => void run('cancel')}>
              Yes, cancel the campaign
            </Button>
            <Button onClick={() => setConfirmingCancel(false)}>Keep it</Button>
          </div>
        </div>
      )}
      {action.error && <ErrorBanner error={new Error(action.error)} />}
      {result?.sendingWindow && <Notice kind={result.sendingWindow.open ? 'ok' : 'warn'}>{result.sendingWindow.message}</Notice>}
      {result?.queued !== undefined && (
        <Notice kind="ok">
          {result.queued} message{result.queued === 1 ? '' : 's'} queued{result.skippedSuppressed ? `, ${result.skippedSuppressed} suppressed address(es) skipped` : ''}.
        </Notice>
      )}
      {result?.cancelledQueueRows !== undefined && <Notice>{result.cancelledQueueRows} waiting message(s) cancelled.</Notice>}
      {result?.dnsWarnings?.map((w) => (
        <Notice key={w.domain} kind="warn">
          DNS of {w.domain} fails: {w.failing.join(', ')}.
        </Notice>
      ))}

      <dl class="facts">
        <dt>Window</dt>
        <dd>
          {minuteToTime(c.windowStartMinute)}–{minuteToTime(c.windowEndMinute)} on {days}, {c.useRecipientTimeZone ? `each contact’s time zone (else ${c.timeZone})` : c.timeZone}
        </dd>
        <dt>Tracking</dt>
        <dd>{[c.trackOpens ? 'opens' : '', c.trackClicks ? 'clicks' : ''].filter(Boolean).join(' and ') || 'none'}</dd>
        <dt>Steps</dt>
        <dd>{(c.steps ?? []).map((s) => `${s.stepNumber}: “${s.subject}” (${s.stepNumber === 1 ? 'first' : `after ${describeDelay(s.delayMinutes)}`})`).join('; ') || 'none'}</dd>
        <dt>Senders</dt>
        <dd>{c.senderAccountIds?.length ?? 0} mailbox(es)</dd>
        <dt>Started</dt>
        <dd>{formatDateTime(c.startedAt)}</dd>
        <dt>Created</dt>
        <dd>{formatDateTime(c.createdAt)}</dd>
      </dl>

      <h2>Figures</h2>
      <ErrorBanner error={stats.error ?? engagement.error} />
      {stats.data ? (
        <>
          <StatsCards stats={stats.data} engagement={engagement.data} />
          <DailyCharts stats={stats.data} engagement={engagement.data} />
          <BreakdownTable
            caption="Per step"
            header="Step"
            rows={stats.data.steps}
            label={(row) => `Step ${row.stepNumber}`}
            extra={{ title: 'Opened by proxies only', value: (row) => engagement.data?.steps.find((s) => s.stepNumber === row.stepNumber)?.openedAutomatedOnly ?? 0 }}
          />
          <BreakdownTable caption="Per mailbox" header="Mailbox" rows={stats.data.accounts} label={(row) => (row.accountId ? (accounts.data?.get(row.accountId) ?? row.accountId) : 'Not yet assigned')} />
          {engagement.data && engagement.data.automatedReasons.length > 0 && (
            <table>
              <caption>Automated opens and clicks by reason</caption>
              <thead>
                <tr>
                  <th scope="col">Reason</th>
                  <th scope="col" class="num">
                    Opens
                  </th>
                  <th scope="col" class="num">
                    Clicks
                  </th>
                </tr>
              </thead>
              <tbody>
                {engagement.data.automatedReasons.map((r) => (
                  <tr key={r.reason}>
                    <th scope="row">{r.reason}</th>
                    <td class="num">{r.opens}</td>
                    <td class="num">{r.clicks}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : (
        !stats.error && <Loading what="Loading figures" />
      )}
    </section>
  );
}
