/**
 * Sender domains: the list with SPF / DKIM / DMARC state and complaint and bounce rates; add a
 * domain; per domain the TXT records to publish (each with a copy button), "check now" with
 * what the check found (MX, relay PTR and SPF, DMARC policy), the open blocklist alerts of the
 * domain, and the owner's transfer to another client.
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ClientSelect, ConfirmButton, describedBy, FormPanel, LoadMore, useClientOptions, useForm, usePagedList } from '../components/admin-form';
import { useApi } from '../components/use-api';
import { Button, CopyButton, Empty, ErrorBanner, Field, formatDateTime, formatNumber, Loading, PageHeader, StatusBadge } from '../components/ui';
import { canWrite, isOwner, useUser } from '../session';

interface Domain {
  id: string;
  clientId: string;
  domain: string;
  dkimSelector: string | null;
  hasDkimKey: boolean;
  spfStatus: string;
  dkimStatus: string;
  dmarcStatus: string;
  dnsCheckedAt: string | null;
  dailyLimit: number | null;
  rates: { windowDays: number; sends: number; hardBounces: number; complaints: number; complaintRatePct: number; bounceRatePct: number; judged: boolean };
  createdAt: string;
}
interface CheckPart {
  status: string;
  detail: string;
}
interface DomainDns {
  domainId: string;
  domain: string;
  checkedAt: string | null;
  expected: { type: 'TXT'; name: string; value: string; purpose: string }[];
  current: null | {
    checkedAt: string;
    spf: CheckPart & { record: string | null };
    dkim: CheckPart & { selector: string | null; record: string | null };
    dmarc: CheckPart & { record: string | null; policy: string | null };
    mx: CheckPart & { hosts: string[] };
    ptr: CheckPart;
    relays: { host: string; ip: string; spf: string; ptr: string[]; forwardConfirmed: boolean }[];
    failing: string[];
  };
}
interface Alert {
  id: number;
  severity: string;
  code: string;
  entityKey: string;
  message: string;
  details: Record<string, unknown>;
  lastSeenAt: string;
}

function AddDomainForm({ owner, onSaved, onClose }: { owner: boolean; onSaved: () => void; onClose: () => void }) {
  const clients = useClientOptions(owner);
  const [domain, setDomain] = useState('');
  const [clientId, setClientId] = useState('');
  const [selector, setSelector] = useState('');
  const [privateKey, setPrivateKey] = useState('');
  const [dailyLimit, setDailyLimit] = useState('');
  const form = useForm();
  const f = form.fieldErrors;
  const save = async (event: Event) => {
    event.preventDefault();
    const body = {
      domain: domain.trim(),
      ...(owner && clientId ? { clientId } : {}),
      ...(selector.trim() ? { dkimSelector: selector.trim() } : {}),
      ...(privateKey.trim() ? { dkimPrivateKey: privateKey } : {}),
      ...(dailyLimit.trim() ? { dailyLimit: Number(dailyLimit) } : {}),
    };
    if (await form.submit(() => api.post('/domains', body))) onSaved();
  };
  return (
    <FormPanel title="Add a domain" onClose={onClose}>
      <form onSubmit={save} noValidate>
        <ErrorBanner error={form.error} />
        <div class="grid-2">
          <div>
            <Field label="Domain" id="domain-name" hint="e.g. mail.example.com" error={f.domain}>
              <input {...describedBy('domain-name', f.domain, true)} value={domain} onInput={(e) => setDomain(e.currentTarget.value)} />
            </Field>
            {owner && <ClientSelect id="domain-client" clients={clients} value={clientId} onChange={setClientId} error={f.clientId} />}
            <Field label="DKIM selector" id="domain-selector" hint="e.g. s1 (optional)" error={f.dkimSelector}>
              <input {...describedBy('domain-selector', f.dkimSelector, true)} value={selector} onInput={(e) => setSelector(e.currentTarget.value)} />
            </Field>
            <Field label="Daily limit" id="domain-limit" hint="Messages per day from this domain (optional)" error={f.dailyLimit}>
              <input {...describedBy('domain-limit', f.dailyLimit, true)} type="number" min={1} value={dailyLimit} onInput={(e) => setDailyLimit(e.currentTarget.value)} />
            </Field>
          </div>
          <Field label="DKIM private key (PEM, RSA)" id="domain-key" hint="Stored encrypted, never shown again (optional)" error={f.dkimPrivateKey}>
            <textarea {...(describedBy('domain-key', f.dkimPrivateKey, true) as object)} value={privateKey} onInput={(e) => setPrivateKey(e.currentTarget.value)} />
          </Field>
        </div>
        <Button kind="primary" type="submit" busy={form.busy}>
          Add domain
        </Button>
      </form>
    </FormPanel>
  );
}

function TransferForm({ domain, onDone }: { domain: Domain; onDone: () => void }) {
  const clients = useClientOptions(true).filter((c) => c.id !== domain.clientId);
  const [clientId, setClientId] = useState('');
  const form = useForm();
  return (
    <form
      class="toolbar"
      aria-label={`Transfer ${domain.domain}`}
      onSubmit={async (event) => {
        event.preventDefault();
        if (await form.submit(() => api.post(`/domains/${domain.id}/transfer`, { clientId }))) onDone();
      }}
    >
      <ClientSelect id={`transfer-${domain.id}`} label="Transfer to client" clients={clients} value={clientId} onChange={setClientId} error={form.fieldErrors.clientId} />
      <Button type="submit" busy={form.busy} disabled={!clientId}>
        Transfer
      </Button>
      <ErrorBanner error={form.error} />
    </form>
  );
}

function DomainDetail({ domain, writer, owner, onChanged, onClose }: { domain: Domain; writer: boolean; owner: boolean; onChanged: () => void; onClose: () => void }) {
  const dns = useApi((signal) => api.get<DomainDns>(`/domains/${domain.id}/dns`, undefined, signal), [domain.id]);
  // The daily blocklist check raises one open `blocklist_listed` alert per listed target and zone.
  const alerts = useApi(
    (signal) => api.get<{ alerts: Alert[] }>('/alerts', { state: 'open', code: 'blocklist_listed', limit: 500 }, signal).then((r) => r.alerts.filter((a) => String(a.details.target ?? '').toLowerCase() === domain.domain)),
    [domain.id],
  );
  const check = useForm();
  const [checked, setChecked] = useState<DomainDns | null>(null);
  const shown = checked ?? dns.data;
  const current = shown?.current;
  const listings = alerts.data ?? [];

  return (
    <FormPanel title={`Domain ${domain.domain}`} onClose={onClose}>
      <ErrorBanner error={dns.error ?? check.error} />
      <h3>Records to publish</h3>
      {!shown ? (
        <Loading />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">Why</th>
              <th scope="col">Copy</th>
            </tr>
          </thead>
          <tbody>
            {shown.expected.map((r) => (
              <tr key={r.name}>
                <td>{r.type}</td>
                <td>
                  <code>{r.name}</code>
                </td>
                <td>
                  <code class="dns-value">{r.value}</code>
                </td>
                <td class="muted">{r.purpose}</td>
                <td>
                  <CopyButton text={r.value} label={`Copy ${r.purpose.split(':')[0]} value`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="page-header">
        <h3>Last check {shown?.checkedAt ? formatDateTime(shown.checkedAt) : '(never)'}</h3>
        {writer && (
          <Button
            kind="primary"
            busy={check.busy}
            onClick={async () => {
              const result = await check.submit(() => api.post<DomainDns>(`/domains/${domain.id}/dns/check`));
              if (result) {
                setChecked(result);
                onChanged();
              }
            }}
          >
            Check now
          </Button>
        )}
      </div>
      {current ? (
        <div aria-live="polite">
          {current.failing.length > 0 && <p class="field-error">Failing: {current.failing.join(', ')}</p>}
          <table>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Result</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {(
                [
                  ['SPF', current.spf, current.spf.record],
                  ['DKIM', current.dkim, current.dkim.record],
                  ['DMARC', current.dmarc, current.dmarc.policy ? `policy ${current.dmarc.policy}` : current.dmarc.record],
                  ['MX', current.mx, current.mx.hosts.join(', ')],
                  ['PTR', current.ptr, null],
                ] as const
              ).map(([name, part, extra]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>
                    <StatusBadge status={part.status} />
                  </td>
                  <td>
                    {part.detail}
                    {extra && (
                      <div>
                        <code>{extra}</code>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {current.relays.length > 0 && (
            <>
              <h4>Relays</h4>
              <ul>
                {current.relays.map((r) => (
                  <li key={`${r.host}/${r.ip}`}>
                    {r.host} ({r.ip}): SPF {r.spf}, PTR {r.ptr.join(', ') || 'none'}
                    {r.forwardConfirmed ? ', forward-confirmed' : ', not forward-confirmed'}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      ) : (
        <p class="muted">Not checked yet.</p>
      )}
      <h3>Blocklists</h3>
      {alerts.loading && !alerts.data ? (
        <Loading />
      ) : listings.length === 0 ? (
        <p>
          <StatusBadge status="pass" /> No open blocklist alert for this domain.
        </p>
      ) : (
        <ul>
          {listings.map((a) => (
            <li key={a.id}>
              <StatusBadge status="listed" /> {String(a.details.zone ?? '')}: {a.message} <span class="muted">(last seen {formatDateTime(a.lastSeenAt)})</span>
            </li>
          ))}
        </ul>
      )}
      {owner && (
        <>
          <h3>Transfer</h3>
          <TransferForm domain={domain} onDone={onChanged} />
        </>
      )}
    </FormPanel>
  );
}

export function DomainsPage() {
  const user = useUser();
  const owner = isOwner(user);
  const writer = canWrite(user);
  const list = usePagedList<Domain>('/domains', 'domains', {});
  const [adding, setAdding] = useState(false);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const selected = list.rows.find((d) => d.id === selectedId) ?? null;
  const action = useForm();

  return (
    <section>
      <PageHeader title="Domains">
        {writer && (
          <Button kind="primary" onClick={() => setAdding(true)}>
            Add a domain
          </Button>
        )}
      </PageHeader>
      {adding && (
        <AddDomainForm
          owner={owner}
          onClose={() => setAdding(false)}
          onSaved={() => {
            setAdding(false);
            void list.reload();
          }}
        />
      )}
      <ErrorBanner error={list.error ?? action.error} />
      {list.loading && list.rows.length === 0 ? (
        <Loading />
      ) : list.rows.length === 0 ? (
        <Empty>No sender domains yet.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Domain</th>
              <th scope="col">SPF</th>
              <th scope="col">DKIM</th>
              <th scope="col">DMARC</th>
              <th scope="col">Checked</th>
              <th scope="col" class="num">Sends</th>
              <th scope="col" class="num">Bounce rate</th>
              <th scope="col" class="num">Complaint rate</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((d) => (
              <tr key={d.id}>
                <td>{d.domain}</td>
                <td>
                  <StatusBadge status={d.spfStatus} />
                </td>
                <td>
                  <StatusBadge status={d.dkimStatus} />
                </td>
                <td>
                  <StatusBadge status={d.dmarcStatus} />
                </td>
                <td>{formatDateTime(d.dnsCheckedAt)}</td>
                <td class="num">{formatNumber(d.rates.sends)}</td>
                <td class="num">{d.rates.bounceRatePct.toFixed(2)} %</td>
                <td class="num">{d.rates.complaintRatePct.toFixed(3)} %</td>
                <td>
                  <Button class="btn btn-plain btn-small" aria-label={`DNS of ${d.domain}`} aria-pressed={selectedId === d.id} onClick={() => setSelectedId(d.id)}>
                    DNS
                  </Button>{' '}
                  {writer && (
                    <ConfirmButton
                      label="Delete"
                      what={d.domain}
                      busy={action.busy}
                      onConfirm={async () => {
                        await action.submit(() => api.delete(`/domains/${d.id}`));
                        if (selectedId === d.id) setSelectedId(null);
                        await list.reload();
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore shown={list.rows.length} total={list.total} loading={list.loading} onMore={() => void list.loadMore()} />
      {selected && <DomainDetail key={selected.id} domain={selected} writer={writer} owner={owner} onChanged={() => void list.reload()} onClose={() => setSelectedId(null)} />}
    </section>
  );
}
