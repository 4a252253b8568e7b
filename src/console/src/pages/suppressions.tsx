/**
 * The suppression list: search and filter by reason, add an address, remove a manual or
 * hard-bounce suppression (unsubscribes and complaints are the recipient's choice and stay),
 * import a CSV (with its report) and export the list as CSV.
 */
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ClientSelect, ConfirmButton, describedBy, FormPanel, LoadMore, useClientOptions, useForm, usePagedList } from '../components/admin-form';
import { Button, Empty, ErrorBanner, Field, formatDateTime, formatNumber, Loading, Notice, PageHeader } from '../components/ui';
import { bearerToken, canWrite, isOwner, useUser } from '../session';

interface Suppression {
  id: number;
  clientId: string;
  email: string;
  reason: string;
  source: string;
  createdAt: string;
}
interface ImportReport {
  rows: number;
  added: number;
  alreadySuppressed: number;
  invalid: number;
  errors: { line: number; message: string }[];
}

const REASONS = ['unsubscribed', 'hard_bounce', 'soft_bounce', 'complaint', 'manual'];
const PROTECTED = new Set(['unsubscribed', 'complaint']);

/** The export needs the bearer token, so it is fetched and handed to the browser as a file. */
async function downloadExport(clientId: string): Promise<void> {
  const response = await fetch(`/api/suppressions/export${clientId ? `?clientId=${encodeURIComponent(clientId)}` : ''}`, { headers: { authorization: `Bearer ${bearerToken() ?? ''}` } });
  if (!response.ok) throw new ApiError(response.status, 'export_failed', `Export failed (${response.status})`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = 'suppressions.csv';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function AddForm({ owner, onSaved, onClose }: { owner: boolean; onSaved: () => void; onClose: () => void }) {
  const clients = useClientOptions(owner);
  const [email, setEmail] = useState('');
  const [clientId, setClientId] = useState('');
  const form = useForm();
  const f = form.fieldErrors;
  const save = async (event: Event) => {
    event.preventDefault();
    const result = await form.submit(() => api.post<{ added: boolean }>('/suppressions', { email: email.trim(), ...(owner && clientId ? { clientId } : {}) }));
    if (result) onSaved();
  };
  return (
    <FormPanel title="Suppress an address" onClose={onClose}>
      <form onSubmit={save} noValidate class="toolbar">
        <Field label="Email address" id="supp-email" error={f.email}>
          <input {...describedBy('supp-email', f.email)} type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        {owner && <ClientSelect id="supp-client" clients={clients} value={clientId} onChange={setClientId} error={f.clientId} />}
        <Button kind="primary" type="submit" busy={form.busy}>
          Suppress
        </Button>
      </form>
      <ErrorBanner error={form.error} />
    </FormPanel>
  );
}

function ImportForm({ owner, onDone, onClose }: { owner: boolean; onDone: () => void; onClose: () => void }) {
  const clients = useClientOptions(owner);
  const [clientId, setClientId] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const form = useForm();
  const upload = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    const data = new FormData();
    data.append('file', file);
    const result = await form.submit(() => api.upload<ImportReport>('/suppressions/import', data, owner && clientId ? { clientId } : undefined));
    if (result) {
      setReport(result);
      onDone();
    }
  };
  return (
    <FormPanel title="Import a CSV" onClose={onClose}>
      <form onSubmit={upload} class="toolbar">
        <Field label="CSV file" id="supp-file" hint='An "email" column, or addresses in the first column'>
          <input id="supp-file" aria-describedby="supp-file-hint" type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </Field>
        {owner && <ClientSelect id="supp-import-client" clients={clients} value={clientId} onChange={setClientId} error={form.fieldErrors.clientId} />}
        <Button kind="primary" type="submit" busy={form.busy} disabled={!file}>
          Import
        </Button>
      </form>
      <ErrorBanner error={form.error} />
      {report && (
        <div role="status">
          <p>
            {formatNumber(report.rows)} rows: {formatNumber(report.added)} added, {formatNumber(report.alreadySuppressed)} already suppressed, {formatNumber(report.invalid)} invalid.
          </p>
          {report.errors.length > 0 && (
            <ul>
              {report.errors.map((e) => (
                <li key={e.line}>
                  Line {e.line}: {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </FormPanel>
  );
}

export function SuppressionsPage() {
  const user = useUser();
  const owner = isOwner(user);
  const writer = canWrite(user);
  const [search, setSearch] = useState('');
  const [reason, setReason] = useState('');
  const [panel, setPanel] = useState<'add' | 'import' | null>(null);
  const list = usePagedList<Suppression>('/suppressions', 'suppressions', { search: search.trim(), reason });
  const action = useForm();

  return (
    <section>
      <PageHeader title="Suppressions">
        <Button busy={action.busy} onClick={() => void action.submit(() => downloadExport(''))}>
          Export CSV
        </Button>
        {writer && (
          <>
            <Button onClick={() => setPanel('import')}>Import CSV</Button>
            <Button kind="primary" onClick={() => setPanel('add')}>
              Suppress an address
            </Button>
          </>
        )}
      </PageHeader>
      {panel === 'add' && (
        <AddForm
          owner={owner}
          onClose={() => setPanel(null)}
          onSaved={() => {
            setPanel(null);
            void list.reload();
          }}
        />
      )}
      {panel === 'import' && <ImportForm owner={owner} onClose={() => setPanel(null)} onDone={() => void list.reload()} />}
      <div class="toolbar" role="search">
        <Field label="Search" id="supp-search">
          <input id="supp-search" type="search" placeholder="address or domain" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </Field>
        <Field label="Reason" id="supp-reason">
          <select id="supp-reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
            <option value="">Any</option>
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {r.replace('_', ' ')}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorBanner error={list.error ?? action.error} />
      {list.loading && list.rows.length === 0 ? (
        <Loading />
      ) : list.rows.length === 0 ? (
        <Empty>No suppressed addresses{search || reason ? ' match' : ''}.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Reason</th>
              <th scope="col">Source</th>
              <th scope="col">Since</th>
              {writer && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.rows.map((s) => (
              <tr key={s.id}>
                <td>{s.email}</td>
                <td>{s.reason.replace('_', ' ')}</td>
                <td class="muted">{s.source}</td>
                <td>{formatDateTime(s.createdAt)}</td>
                {writer && (
                  <td>
                    {PROTECTED.has(s.reason) ? (
                      <span class="muted">recipient's choice</span>
                    ) : (
                      <ConfirmButton
                        label="Remove"
                        what={s.email}
                        busy={action.busy}
                        onConfirm={async () => {
                          await action.submit(() => api.delete(`/suppressions/${s.id}`));
                          await list.reload();
                        }}
                      />
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore shown={list.rows.length} total={list.total} loading={list.loading} onMore={() => void list.loadMore()} />
      {!writer && <Notice>You can read this list; a client admin can change it.</Notice>}
    </section>
  );
}
