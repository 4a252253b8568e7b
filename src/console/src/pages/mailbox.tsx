/**
 * One mailbox: what it is doing (the fleet row's facts), pause / resume for those who may
 * write, its figures per day (GET /api/accounts/:id/history), its latest send attempts with the
 * receiver's reply codes (GET /api/accounts/:id/sends), the mail that came back to it (GET
 * /api/inbound?accountId=) and its alerts (GET /api/alerts?accountId=). Receiver answers and
 * inbound text are shown as text nodes only.
 */
import type { ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api } from '../api';
import { seriesColor, TimeChart } from '../components/time-chart';
import { useAction, useApi } from '../components/use-api';
import { Button, Empty, ErrorBanner, formatDateTime, formatNumber, formatRelative, Loading, PageHeader, StatusBadge } from '../components/ui';
import '../components/virtual-table.css';
import { canWrite, useUser } from '../session';
import { describeWait, type Account } from './fleet-model';

interface HistoryDay {
  day: string;
  sent: number;
  deferred: number;
  failed: number;
  bounced: number;
  replied: number;
  complained: number;
}
interface SendAttempt {
  id: number;
  at: string;
  recipient: string | null;
  attempt: number;
  outcome: string;
  reason: string | null;
  code: number | null;
  enhancedCode: string | null;
  response: string | null;
}
interface InboundSummary {
  id: number;
  receivedAt: string;
  from: string | null;
  subject: string;
  kind: string;
  subKind: string | null;
  reason: string | null;
}
interface AlertRow {
  id: number;
  severity: string;
  code: string;
  message: string;
  createdAt: string;
  resolvedAt: string | null;
}

const METRICS = ['sent', 'deferred', 'failed', 'bounced', 'replied', 'complained'] as const;
const REFRESH_MS = 15_000;

export function MailboxPage() {
  const { params } = useRoute();
  const id = params.id ?? '';
  const writer = canWrite(useUser());
  const account = useApi(() => api.get<Account>(`/accounts/${id}`), [id], { pollMs: REFRESH_MS });
  const history = useApi(() => api.get<{ days: HistoryDay[] }>(`/accounts/${id}/history`, { days: 30 }), [id]);
  const sends = useApi(() => api.get<{ sends: SendAttempt[] }>(`/accounts/${id}/sends`, { limit: 50 }), [id], { pollMs: REFRESH_MS });
  const inbound = useApi(() => api.get<{ messages: InboundSummary[] }>('/inbound', { accountId: id, limit: 20 }), [id]);
  const alerts = useApi(() => api.get<{ alerts: AlertRow[] }>('/alerts', { accountId: id, limit: 20 }), [id]);
  const action = useAction();

  const chart = useMemo(() => {
    const days = history.data?.days ?? [];
    return {
      x: days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000),
      series: METRICS.map((m, i) => ({ label: m, values: days.map((d) => d[m]), color: seriesColor(i) })),
    };
  }, [history.data]);

  if (account.error) return <ErrorBanner error={account.error} />;
  const a = account.data;
  if (!a) return <Loading what="Loading the mailbox" />;

  const setStatus = async (status: 'active' | 'paused') => {
    if (await action.run(() => api.patch(`/accounts/${a.id}`, { status }))) await account.reload();
  };

  return (
    <section>
      <p>
        <a href="/fleet">← Fleet</a>
      </p>
      <PageHeader title={a.email}>
        {writer && a.status === 'active' && (
          <Button busy={action.busy} onClick={() => void setStatus('paused')}>
            Pause mailbox
          </Button>
        )}
        {writer && ['paused', 'suspended', 'crashed'].includes(a.status) && (
          <Button kind="primary" busy={action.busy} onClick={() => void setStatus('active')}>
            Resume mailbox
          </Button>
        )}
      </PageHeader>
      <ErrorBanner error={action.error} />
      <div class="panel">
        <dl class="facts">
          <Fact label="Status">
            <StatusBadge status={a.status} /> {a.pauseReason}
          </Fact>
          <Fact label="Provider">{a.transport}</Fact>
          <Fact label="Health">{formatNumber(Math.round(a.healthScore))}</Fact>
          <Fact label="Warm-up day">{a.warmupDay === null ? '—' : formatNumber(a.warmupDay)}</Fact>
          <Fact label="Sent today">{`${formatNumber(a.sentToday)} of ${formatNumber(a.effectiveDailyLimit)}`}</Fact>
          <Fact label="Limits">{`${formatNumber(a.dailyLimit)}/day, ${formatNumber(a.hourlyLimit)}/h, gap ${formatNumber(a.minGapSeconds)} s`}</Fact>
          <Fact label="Next send">{`${a.nextSendAt ? formatRelative(a.nextSendAt) : '—'} ${describeWait(a.waitReason)}`}</Fact>
          <Fact label="Worker">{a.worker ? `${a.worker.state}${a.worker.stale ? ' (stale)' : ''}${a.worker.nodeId ? ` on ${a.worker.nodeId}` : ''}` : 'none'}</Fact>
          <Fact label="Last error">{a.lastError ? `${a.lastError.outcome} ${a.lastError.code ?? ''} ${a.lastError.enhancedCode ?? ''} ${formatRelative(a.lastError.at)}` : '—'}</Fact>
          <Fact label="Time zone">{a.timeZone}</Fact>
        </dl>
      </div>

      <h2>Last 30 days</h2>
      <ErrorBanner error={history.error} />
      {history.data ? <TimeChart title="Per day (UTC)" x={chart.x} series={chart.series} bars /> : <Loading what="Loading the history" />}

      <h2>Recent send results</h2>
      <ErrorBanner error={sends.error} />
      {sends.data && sends.data.sends.length === 0 && <Empty>Nothing sent yet.</Empty>}
      {sends.data && sends.data.sends.length > 0 && (
        <div class="scroll-x">
          <table>
            <caption class="visually-hidden">Recent send results</caption>
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">Recipient</th>
                <th scope="col">Outcome</th>
                <th scope="col">Code</th>
                <th scope="col">Enhanced</th>
                <th scope="col">Response</th>
              </tr>
            </thead>
            <tbody>
              {sends.data.sends.map((s) => (
                <tr key={s.id}>
                  <td>{formatDateTime(s.at)}</td>
                  <td>{s.recipient ?? '—'}</td>
                  <td>
                    {s.outcome}
                    {s.attempt > 1 && <span class="cell-sub">attempt {s.attempt}</span>}
                  </td>
                  <td>{s.code ?? '—'}</td>
                  <td>{s.enhancedCode ?? '—'}</td>
                  <td class="response-text">{s.response ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <div class="grid-2">
        <div>
          <h2>Inbound</h2>
          <ErrorBanner error={inbound.error} />
          {inbound.data && inbound.data.messages.length === 0 && <Empty>No bounces, replies or complaints for this mailbox.</Empty>}
          {inbound.data && inbound.data.messages.length > 0 && (
            <table>
              <caption class="visually-hidden">Inbound messages</caption>
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Kind</th>
                  <th scope="col">From</th>
                  <th scope="col">Subject</th>
                </tr>
              </thead>
              <tbody>
                {inbound.data.messages.map((m) => (
                  <tr key={m.id}>
                    <td>{formatDateTime(m.receivedAt)}</td>
                    <td>
                      {m.kind}
                      {m.subKind && <span class="cell-sub">{m.subKind}</span>}
                    </td>
                    <td>{m.from ?? '—'}</td>
                    <td>{m.subject}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h2>Alerts</h2>
          <ErrorBanner error={alerts.error} />
          {alerts.data && alerts.data.alerts.length === 0 && <Empty>No alerts for this mailbox.</Empty>}
          {alerts.data && alerts.data.alerts.length > 0 && (
            <table>
              <caption class="visually-hidden">Alerts</caption>
              <thead>
                <tr>
                  <th scope="col">Raised</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Message</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {alerts.data.alerts.map((x) => (
                  <tr key={x.id}>
                    <td>{formatDateTime(x.createdAt)}</td>
                    <td>{x.severity}</td>
                    <td>{x.message}</td>
                    <td>{x.resolvedAt ? `resolved ${formatRelative(x.resolvedAt)}` : 'open'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </section>
  );
}

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
