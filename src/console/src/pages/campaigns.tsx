/** Campaigns list (/campaigns): name, client, status, progress (sent of all rows), created; filter by status. */
import '../components/campaign-styles.css';
import { useState } from 'preact/hooks';
import { api, getAll } from '../api';
import { type Campaign, CAMPAIGN_STATUSES, type CampaignStats, type Client } from '../components/campaign-model';
import { Empty, ErrorBanner, formatDateTime, formatNumber, formatPercent, Loading, PageHeader, StatusBadge } from '../components/ui';
import { useApi } from '../components/use-api';
import { canWrite, isOwner, useUser } from '../session';

interface Progress {
  sent: number;
  total: number;
}

/** Sent of every row the campaign queued, from its stats (one request per campaign shown, at most 100). */
async function progressOf(campaigns: Campaign[]): Promise<Map<string, Progress>> {
  const entries = await Promise.all(
    campaigns
      .filter((c) => c.status !== 'draft')
      .map(async (c) => {
        const { totals: t } = await api.get<CampaignStats>(`/campaigns/${c.id}/stats`);
        // Every row is in one state; a row accepted and hard-bounced later counts twice (stats.repository.ts), rare enough for a bar.
        const total = t.due + t.scheduled + t.inFlight + t.unknown + t.held + t.sent + t.bounced + t.failed + t.suppressed + t.cancelled;
        return [c.id, { sent: t.sent, total }] as const;
      }),
  );
  return new Map(entries);
}

export function CampaignsPage() {
  const user = useUser();
  const [status, setStatus] = useState('');
  const list = useApi(async () => {
    const page = await api.get<{ campaigns: Campaign[]; total: number }>('/campaigns', { status, limit: 100 });
    return { ...page, progress: await progressOf(page.campaigns) };
  }, [status]);
  const clients = useApi(async () => (isOwner(user) ? new Map((await getAll<Client>('/clients', 'clients')).map((c) => [c.id, c.name])) : new Map<string, string>()), [user?.role]);

  return (
    <section>
      <PageHeader title="Campaigns">
        {canWrite(user) && (
          <a class="btn btn-primary" href="/campaigns/new">
            New campaign
          </a>
        )}
      </PageHeader>
      <div class="toolbar">
        <div class="field">
          <label for="campaign-status-filter">Status</label>
          <select id="campaign-status-filter" value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
            <option value="">All</option>
            {CAMPAIGN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="Loading campaigns" />
      ) : list.data && list.data.campaigns.length === 0 ? (
        <Empty>{status ? `No ${status} campaigns.` : 'No campaigns yet.'}</Empty>
      ) : (
        list.data && (
          <table>
            <caption class="muted">
              {formatNumber(list.data.total)} campaign{list.data.total === 1 ? '' : 's'}
              {list.data.total > list.data.campaigns.length ? ` (the newest ${list.data.campaigns.length} shown)` : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                {isOwner(user) && <th scope="col">Client</th>}
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.campaigns.map((c) => {
                const progress = list.data?.progress.get(c.id);
                return (
                  <tr key={c.id}>
                    <td>
                      <a href={`/campaigns/${c.id}`}>{c.name}</a>
                    </td>
                    {isOwner(user) && <td>{clients.data?.get(c.clientId) ?? '—'}</td>}
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td>
                      {progress ? (
                        <span class="progress-cell">
                          <progress max={Math.max(1, progress.total)} value={progress.sent} aria-label={`${c.name}: ${progress.sent} of ${progress.total} sent`} />{' '}
                          {formatNumber(progress.sent)} / {formatNumber(progress.total)} ({formatPercent(progress.sent, progress.total)})
                        </span>
                      ) : (
                        <span class="muted">not started</span>
                      )}
                    </td>
                    <td>{formatDateTime(c.createdAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )
      )}
    </section>
  );
}
