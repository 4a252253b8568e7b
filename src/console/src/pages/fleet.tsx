/**
 * The fleet: every mailbox in one windowed table (virtual-table.tsx), refreshed every 15 s.
 * Search, filters and sort run in the browser on the loaded fleet (fleet-model.ts); owners and
 * client admins select rows and pause, resume or change limits in bulk (POST
 * /api/accounts/bulk), or pause / resume one from its row. A viewer gets neither.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, getAll } from '../api';
import { useApi, useAction } from '../components/use-api';
import { ErrorBanner, formatNumber, formatRelative, Loading, Notice, PageHeader, StatusBadge } from '../components/ui';
import { VirtualTable, type Column, type SortState } from '../components/virtual-table';
import { canWrite, isOwner, useUser } from '../session';
import { applyFilter, applySort, describeWait, domainOf, loadFleet, NO_FILTER, STATUSES, TRANSPORTS, type Account, type FleetFilter } from './fleet-model';
import { FleetBulkBar } from './fleet-bulk';

const REFRESH_MS = 15_000;

export function FleetPage() {
  const user = useUser();
  const writer = canWrite(user);
  const owner = isOwner(user);
  // Until the whole fleet is in, the first page is shown (the first load of a large fleet).
  const [firstPage, setFirstPage] = useState<{ accounts: Account[]; total: number } | undefined>(undefined);
  const accounts = useApi((signal) => loadFleet(signal, (rows, total) => setFirstPage({ accounts: rows, total })), [], { pollMs: REFRESH_MS });
  const clients = useApi(async () => (owner ? getAll<{ id: string; name: string }>('/clients', 'clients') : []), [owner]);
  const [filter, setFilter] = useState<FleetFilter>(NO_FILTER);
  const [sort, setSort] = useState<SortState>({ key: 'email', direction: 'ascending' });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const rowAction = useAction();

  const clientNames = useMemo(() => new Map((clients.data ?? []).map((c) => [c.id, c.name])), [clients.data]);
  const clientName = (id: string) => clientNames.get(id) ?? id.slice(0, 8);
  const all = accounts.data ?? firstPage?.accounts ?? [];
  const stillLoading = accounts.data === undefined && firstPage !== undefined;
  const domains = useMemo(() => [...new Set(all.map((a) => domainOf(a.email)))].sort(), [all]);
  // Sorted once per refresh or sort change; a keystroke only filters the sorted list (in order).
  const sorted = useMemo(() => applySort(all, sort, clientName), [all, sort, clientNames]);
  const shown = useMemo(() => applyFilter(sorted, filter), [sorted, filter]);
  const selectedShown = shown.filter((a) => selected.has(a.id));

  const setField = (field: keyof FleetFilter) => (event: Event) => setFilter({ ...filter, [field]: (event.currentTarget as HTMLInputElement).value });
  const onSort = (key: string) => setSort(sort.key === key ? { key, direction: sort.direction === 'ascending' ? 'descending' : 'ascending' } : { key, direction: 'ascending' });
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const allShownSelected = shown.length > 0 && selectedShown.length === shown.length;

  const setStatus = async (account: Account, status: 'active' | 'paused') => {
    const done = await rowAction.run(() => api.patch(`/accounts/${account.id}`, { status }));
    if (done) {
      setNotice(`${account.email} ${status === 'paused' ? 'paused' : 'resumed'}`);
      await accounts.reload();
    }
  };

  const columns: Column<Account>[] = [
    ...(writer
      ? [
          {
            key: 'select',
            label: 'Select',
            width: 44,
            header: (
              <input
                type="checkbox"
                aria-label="Select all shown mailboxes"
                checked={allShownSelected}
                onChange={() => setSelected(allShownSelected ? new Set() : new Set(shown.map((a) => a.id)))}
              />
            ),
            cell: (a: Account) => <input type="checkbox" aria-label={`Select ${a.email}`} checked={selected.has(a.id)} onChange={() => toggle(a.id)} />,
          },
        ]
      : []),
    { key: 'email', label: 'Address', width: 200, sortable: true, cell: (a) => <a href={`/fleet/${a.id}`}>{a.email}</a> },
    ...(owner ? [{ key: 'client', label: 'Client', width: 100, sortable: true, cell: (a: Account) => clientName(a.clientId) }] : []),
    {
      key: 'status',
      label: 'Status',
      width: 128,
      sortable: true,
      cell: (a) => (
        <span title={a.pauseReason ?? undefined}>
          <StatusBadge status={a.status} />
          {a.pauseReason && <span class="cell-sub">{a.pauseReason}</span>}
        </span>
      ),
    },
    { key: 'health', label: 'Health', width: 62, numeric: true, sortable: true, cell: (a) => formatNumber(Math.round(a.healthScore)) },
    { key: 'warmup', label: 'Warm-up', width: 78, numeric: true, sortable: true, cell: (a) => (a.warmupDay === null ? '—' : formatNumber(a.warmupDay)) },
    { key: 'sent', label: 'Sent / limit', width: 96, numeric: true, sortable: true, cell: (a) => `${formatNumber(a.sentToday)} / ${formatNumber(a.effectiveDailyLimit)}` },
    {
      key: 'next',
      label: 'Next send',
      width: 140,
      sortable: true,
      cell: (a) => (
        <span title={a.waitReason ?? undefined}>
          {a.nextSendAt ? formatRelative(a.nextSendAt) : a.status === 'active' && !a.waitReason ? 'when due' : '—'}
          {a.waitReason && <span class="cell-sub">{describeWait(a.waitReason)}</span>}
        </span>
      ),
    },
    {
      key: 'error',
      label: 'Last error',
      width: 156,
      sortable: true,
      cell: (a) =>
        a.lastError ? (
          <span title={a.lastError.response ?? undefined}>
            {a.lastError.outcome}
            <span class="cell-sub">
              {[a.lastError.code, a.lastError.enhancedCode].filter(Boolean).join(' ')} {formatRelative(a.lastError.at)}
            </span>
          </span>
        ) : (
          '—'
        ),
    },
    {
      key: 'worker',
      label: 'Worker',
      width: 112,
      sortable: true,
      cell: (a) =>
        a.worker ? (
          <span>
            {a.worker.stale ? `${a.worker.state} (stale)` : a.worker.state}
            {a.worker.nodeId && <span class="cell-sub">{a.worker.nodeId}</span>}
          </span>
        ) : (
          <span class="muted">none</span>
        ),
    },
    ...(writer
      ? [
          {
            key: 'actions',
            label: 'Actions',
            width: 84,
            cell: (a: Account) =>
              a.status === 'active' ? (
                <button type="button" class="btn btn-small" aria-label={`Pause ${a.email}`} disabled={rowAction.busy} onClick={() => void setStatus(a, 'paused')}>
                  Pause
                </button>
              ) : a.status === 'paused' || a.status === 'suspended' || a.status === 'crashed' ? (
                <button type="button" class="btn btn-small" aria-label={`Resume ${a.email}`} disabled={rowAction.busy} onClick={() => void setStatus(a, 'active')}>
                  Resume
                </button>
              ) : null,
          },
        ]
      : []),
  ];

  return (
    <section>
      <PageHeader title="Fleet">
        <span class="muted" aria-live="polite">
          {accounts.loading && accounts.data ? 'Refreshing…' : ''}
        </span>
      </PageHeader>
      <ErrorBanner error={accounts.error ?? clients.error} />
      <div class="toolbar" role="search">
        <div class="field">
          <label for="fleet-search">Search address</label>
          <input id="fleet-search" type="search" value={filter.search} onInput={setField('search')} placeholder="name@domain" />
        </div>
        <FilterSelect id="fleet-status" label="Status" value={filter.status} options={STATUSES.map((s) => [s, s])} onChange={setField('status')} />
        <FilterSelect id="fleet-domain" label="Domain" value={filter.domain} options={domains.map((d) => [d, d])} onChange={setField('domain')} />
        {owner && <FilterSelect id="fleet-client" label="Client" value={filter.clientId} options={(clients.data ?? []).map((c) => [c.id, c.name])} onChange={setField('clientId')} />}
        <FilterSelect id="fleet-provider" label="Provider" value={filter.transport} options={TRANSPORTS.map((t) => [t, t])} onChange={setField('transport')} />
      </div>
      {writer && (
        <FleetBulkBar
          selected={selectedShown}
          onDone={async (message) => {
            setNotice(message);
            setSelected(new Set());
            await accounts.reload();
          }}
        />
      )}
      {notice && <Notice kind="ok">{notice}</Notice>}
      <ErrorBanner error={rowAction.error} />
      {!accounts.data && !firstPage && accounts.loading ? (
        <Loading what="Loading the fleet" />
      ) : (
        <>
          <p class="fleet-count muted" aria-live="polite">
            {stillLoading
              ? `${formatNumber(all.length)} of ${formatNumber(firstPage?.total)} mailboxes loaded so far…`
              : shown.length === all.length
                ? `${formatNumber(all.length)} mailboxes`
                : `${formatNumber(shown.length)} of ${formatNumber(all.length)} mailboxes`}
            {writer && selected.size > 0 ? `, ${formatNumber(selectedShown.length)} selected` : ''}
          </p>
          <VirtualTable caption="Mailboxes" columns={columns} rows={shown} rowKey={(a) => a.id} sort={sort} onSort={onSort} rowClass={(a) => (selected.has(a.id) ? 'vt-selected' : undefined)} />
        </>
      )}
    </section>
  );
}

function FilterSelect({ id, label, value, options, onChange }: { id: string; label: string; value: string; options: Array<[string, string]>; onChange: (event: Event) => void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={onChange}>
        <option value="">All</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
