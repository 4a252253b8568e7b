/**
 * A campaign's figures: cards for the totals (human and automated opens apart), charts per day,
 * and tables per step and per sender mailbox. Each chart has its figures in a table too.
 */
import { useMemo } from 'preact/hooks';
import type { CampaignEngagement, CampaignStats, Counts } from './campaign-model';
import { daySeconds } from './campaign-model';
import { seriesColor, TimeChart } from './time-chart';
import { formatNumber, formatPercent } from './ui';

function Card({ label, value, detail }: { label: string; value: number; detail?: string }) {
  return (
    <div class="card">
      <div class="value">{formatNumber(value)}</div>
      <div class="label">{label}</div>
      {detail && <div class="label">{detail}</div>}
    </div>
  );
}

export function StatsCards({ stats, engagement }: { stats: CampaignStats; engagement: CampaignEngagement | undefined }) {
  const t = stats.totals;
  const e = engagement?.totals;
  const delivered = t.sent;
  return (
    <>
      <div class="cards" role="group" aria-label="Outcomes">
        <Card label="Sent" value={t.sent} />
        <Card label="Opened (people)" value={t.opened} detail={formatPercent(t.opened, delivered)} />
        <Card label="Opened by proxies or scanners only" value={e?.openedAutomatedOnly ?? 0} detail={e ? `${formatNumber(e.automatedOpens)} automated open events` : undefined} />
        <Card label="Clicked (people)" value={t.clicked} detail={formatPercent(t.clicked, delivered)} />
        <Card label="Clicked by scanners only" value={e?.clickedAutomatedOnly ?? 0} />
        <Card label="Replied" value={t.replied} detail={formatPercent(t.replied, delivered)} />
        <Card label="Bounced" value={t.bounced} detail={formatPercent(t.bounced, delivered)} />
        <Card label="Unsubscribed" value={t.unsubscribed} />
        <Card label="Complained" value={t.complained} />
        <Card label="Failed" value={t.failed} />
      </div>
      <div class="cards" role="group" aria-label="Waiting">
        <Card label="Waiting (due now)" value={t.due} />
        <Card label="Scheduled" value={t.scheduled} />
        <Card label="Retrying" value={t.retrying} />
        <Card label="Sending" value={t.inFlight} />
        <Card label="Held (outcome unknown)" value={t.held + t.unknown} />
        <Card label="Suppressed" value={t.suppressed} />
        <Card label="Cancelled" value={t.cancelled} />
      </div>
    </>
  );
}

const DAY_MS = 86_400_000;

/** Every day from the first to the last with figures (at least a week, so one day is not stretched over years), quiet days as zeros. */
function dayRange(seen: string[]): string[] {
  if (seen.length === 0) return [];
  const times = seen.map((day) => Date.parse(`${day}T00:00:00Z`));
  const last = Math.max(...times);
  const first = Math.min(Math.min(...times), last - 6 * DAY_MS);
  const days: string[] = [];
  for (let t = first; t <= last; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

export function DailyCharts({ stats, engagement }: { stats: CampaignStats; engagement: CampaignEngagement | undefined }) {
  const { x, outcomes, opens } = useMemo(() => {
    const days = dayRange([...stats.days.map((d) => d.day), ...(engagement?.days ?? []).map((d) => d.day)]);
    const byDay = new Map(stats.days.map((d) => [d.day, d]));
    const engagementByDay = new Map((engagement?.days ?? []).map((d) => [d.day, d]));
    const metric = (key: 'sent' | 'opened' | 'clicked' | 'replied' | 'bounced' | 'unsubscribed') => days.map((day) => byDay.get(day)?.[key] ?? 0);
    return {
      x: days.map(daySeconds),
      outcomes: (['sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const).map((key, index) => ({ label: key, values: metric(key), color: seriesColor(index) })),
      opens: [
        { label: 'human opens', values: days.map((day) => engagementByDay.get(day)?.humanOpens ?? 0), color: seriesColor(1) },
        { label: 'automated opens', values: days.map((day) => engagementByDay.get(day)?.automatedOpens ?? 0), color: seriesColor(6) },
      ],
    };
  }, [stats, engagement]);

  if (x.length === 0) return <p class="muted">Nothing has happened yet: the charts per day start with the first mail.</p>;
  return (
    <div class="grid-2">
      <TimeChart title="Per day (UTC)" x={x} series={outcomes} bars />
      <TimeChart title="Opens per day: people and proxies apart" x={x} series={opens} bars />
    </div>
  );
}

const COLUMNS: Array<[keyof Counts, string]> = [
  ['sent', 'Sent'],
  ['opened', 'Opened'],
  ['clicked', 'Clicked'],
  ['replied', 'Replied'],
  ['bounced', 'Bounced'],
  ['unsubscribed', 'Unsubscribed'],
  ['failed', 'Failed'],
  ['queued', 'Waiting'],
];

export function BreakdownTable<T extends Counts>({ caption, rows, label, header, extra }: { caption: string; rows: T[]; label: (row: T) => string; header: string; extra?: { title: string; value: (row: T) => number } }) {
  if (rows.length === 0) return null;
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{header}</th>
          {COLUMNS.map(([, title]) => (
            <th scope="col" class="num" key={title}>
              {title}
            </th>
          ))}
          {extra && (
            <th scope="col" class="num">
              {extra.title}
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={label(row)}>
            <th scope="row">{label(row)}</th>
            {COLUMNS.map(([key]) => (
              <td class="num" key={key}>
                {formatNumber(row[key])}
              </td>
            ))}
            {extra && <td class="num">{formatNumber(extra.value(row))}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
