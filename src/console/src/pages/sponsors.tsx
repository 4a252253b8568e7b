/**
 * Sponsors and their offers: sponsors listed and created (the delivery signing secret is shown
 * once, at creation), per sponsor its API keys (a new key is shown once; revoke) and offers
 * (list, create).
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ClientSelect, ConfirmButton, describedBy, FormPanel, LoadMore, useClientOptions, useForm, usePagedList } from '../components/admin-form';
import { Button, CopyButton, Empty, ErrorBanner, Field, formatDateTime, Loading, Notice, PageHeader, StatusBadge } from '../components/ui';
import { canWrite, isOwner, useUser } from '../session';

interface Sponsor {
  id: string;
  clientId: string;
  name: string;
  deliveryUrl: string | null;
  status: string;
  createdAt: string;
}
interface ApiKey {
  id: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}
interface Offer {
  id: string;
  name: string;
  description: string;
  landingUrl: string | null;
  payoutCents: number | null;
  leadFields: string[];
  status: string;
  createdAt: string;
}

/** A secret the server hands out once: shown with a copy button until dismissed. */
function OnceSecret({ label, value, onDismiss }: { label: string; value: string; onDismiss: () => void }) {
  return (
    <Notice kind="warn">
      <p>
        <strong>{label}</strong> — shown this once; store it now.
      </p>
      <pre>
        <code class="secret-value">{value}</code>
      </pre>
      <CopyButton text={value} label={`Copy ${label.toLowerCase()}`} /> <Button onClick={onDismiss}>I stored it</Button>
    </Notice>
  );
}

function SponsorForm({ owner, onCreated, onClose }: { owner: boolean; onCreated: (sponsor: Sponsor & { deliverySecret: string }) => void; onClose: () => void }) {
  const clients = useClientOptions(owner);
  const [name, setName] = useState('');
  const [deliveryUrl, setDeliveryUrl] = useState('');
  const [clientId, setClientId] = useState('');
  const form = useForm();
  const f = form.fieldErrors;
  const save = async (event: Event) => {
    event.preventDefault();
    const body = { name: name.trim(), deliveryUrl: deliveryUrl.trim() || null, ...(owner && clientId ? { clientId } : {}) };
    const created = await form.submit(() => api.post<Sponsor & { deliverySecret: string }>('/sponsors', body));
    if (created) onCreated(created);
  };
  return (
    <FormPanel title="New sponsor" onClose={onClose}>
      <form onSubmit={save} noValidate>
        <ErrorBanner error={form.error} />
        <div class="grid-2">
          <Field label="Sponsor name" id="sponsor-name" error={f.name}>
            <input {...describedBy('sponsor-name', f.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field label="Lead delivery URL" id="sponsor-url" hint="Where leads are POSTed, signed (optional)" error={f.deliveryUrl}>
            <input {...describedBy('sponsor-url', f.deliveryUrl, true)} type="url" value={deliveryUrl} onInput={(e) => setDeliveryUrl(e.currentTarget.value)} />
          </Field>
          {owner && <ClientSelect id="sponsor-client" clients={clients} value={clientId} onChange={setClientId} error={f.clientId} />}
        </div>
        <Button kind="primary" type="submit" busy={form.busy}>
          Create sponsor
        </Button>
      </form>
    </FormPanel>
  );
}

function OfferForm({ sponsor, onSaved }: { sponsor: Sponsor; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [landingUrl, setLandingUrl] = useState('');
  const [payout, setPayout] = useState('');
  const [leadFields, setLeadFields] = useState('');
  const form = useForm();
  const f = form.fieldErrors;
  const save = async (event: Event) => {
    event.preventDefault();
    const body = {
      name: name.trim(),
      description,
      landingUrl: landingUrl.trim() || null,
      payoutCents: payout.trim() === '' ? null : Math.round(Number(payout) * 100),
      leadFields: leadFields
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    };
    if (await form.submit(() => api.post(`/sponsors/${sponsor.id}/offers`, body))) {
      setName('');
      setDescription('');
      setLandingUrl('');
      setPayout('');
      setLeadFields('');
      onSaved();
    }
  };
  return (
    <form onSubmit={save} noValidate aria-label="New offer">
      <h4>New offer</h4>
      <ErrorBanner error={form.error} />
      <div class="grid-2">
        <Field label="Offer name" id="offer-name" error={f.name}>
          <input {...describedBy('offer-name', f.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Landing URL" id="offer-url" error={f.landingUrl}>
          <input {...describedBy('offer-url', f.landingUrl)} type="url" value={landingUrl} onInput={(e) => setLandingUrl(e.currentTarget.value)} />
        </Field>
        <Field label="Payout per lead (in currency units)" id="offer-payout" error={f.payoutCents}>
          <input {...describedBy('offer-payout', f.payoutCents)} type="number" min={0} step="0.01" value={payout} onInput={(e) => setPayout(e.currentTarget.value)} />
        </Field>
        <Field label="Lead fields" id="offer-fields" hint="Comma separated, e.g. first_name, company (email is always asked)" error={f.leadFields ?? Object.entries(f).find(([k]) => k.startsWith('leadFields'))?.[1]}>
          <input {...describedBy('offer-fields', f.leadFields, true)} value={leadFields} onInput={(e) => setLeadFields(e.currentTarget.value)} />
        </Field>
      </div>
      <Field label="Description" id="offer-description" error={f.description}>
        <textarea id="offer-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </Field>
      <Button kind="primary" type="submit" busy={form.busy}>
        Create offer
      </Button>
    </form>
  );
}

function SponsorDetail({ sponsor, writer, onClose }: { sponsor: Sponsor; writer: boolean; onClose: () => void }) {
  const keys = usePagedList<ApiKey>(`/sponsors/${sponsor.id}/keys`, 'keys', {});
  const offers = usePagedList<Offer>(`/sponsors/${sponsor.id}/offers`, 'offers', {});
  const [newKey, setNewKey] = useState<string | null>(null);
  const action = useForm();
  return (
    <FormPanel title={`Sponsor ${sponsor.name}`} onClose={onClose}>
      <ErrorBanner error={action.error ?? keys.error ?? offers.error} />
      <h3>API keys</h3>
      {newKey && <OnceSecret label="API key" value={newKey} onDismiss={() => setNewKey(null)} />}
      {writer && (
        <Button
          busy={action.busy}
          onClick={async () => {
            const created = await action.submit(() => api.post<ApiKey & { key: string }>(`/sponsors/${sponsor.id}/keys`));
            if (created) setNewKey(created.key);
            await keys.reload();
          }}
        >
          Issue an API key
        </Button>
      )}
      {keys.rows.length === 0 ? (
        <Empty>No API keys.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Key prefix</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
              {writer && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {keys.rows.map((k) => (
              <tr key={k.id}>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{formatDateTime(k.createdAt)}</td>
                <td>{formatDateTime(k.lastUsedAt)}</td>
                <td>{k.revokedAt ? <StatusBadge status="disabled" /> : <StatusBadge status="active" />}</td>
                {writer && (
                  <td>
                    {!k.revokedAt && (
                      <ConfirmButton
                        label="Revoke"
                        what={`key ${k.prefix}`}
                        busy={action.busy}
                        onConfirm={async () => {
                          await action.submit(() => api.delete(`/sponsors/${sponsor.id}/keys/${k.id}`));
                          await keys.reload();
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
      <h3>Offers</h3>
      {offers.rows.length === 0 ? (
        <Empty>No offers.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Offer</th>
              <th scope="col">Landing URL</th>
              <th scope="col" class="num">Payout</th>
              <th scope="col">Lead fields</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {offers.rows.map((o) => (
              <tr key={o.id}>
                <td>
                  {o.name}
                  {o.description && <div class="muted">{o.description}</div>}
                </td>
                <td>{o.landingUrl ?? <span class="muted">—</span>}</td>
                <td class="num">{o.payoutCents === null ? '—' : (o.payoutCents / 100).toFixed(2)}</td>
                <td>{o.leadFields.length ? o.leadFields.join(', ') : <span class="muted">email only</span>}</td>
                <td>
                  <StatusBadge status={o.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore shown={offers.rows.length} total={offers.total} loading={offers.loading} onMore={() => void offers.loadMore()} />
      {writer && <OfferForm sponsor={sponsor} onSaved={() => void offers.reload()} />}
    </FormPanel>
  );
}

export function SponsorsPage() {
  const user = useUser();
  const owner = isOwner(user);
  const writer = canWrite(user);
  const list = usePagedList<Sponsor>('/sponsors', 'sponsors', {});
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [selected, setSelected] = useState<Sponsor | null>(null);

  return (
    <section>
      <PageHeader title="Sponsors and offers">
        {writer && (
          <Button kind="primary" onClick={() => setCreating(true)}>
            New sponsor
          </Button>
        )}
      </PageHeader>
      {secret && <OnceSecret label="Delivery signing secret" value={secret} onDismiss={() => setSecret(null)} />}
      {creating && (
        <SponsorForm
          owner={owner}
          onClose={() => setCreating(false)}
          onCreated={(created) => {
            setCreating(false);
            setSecret(created.deliverySecret);
            void list.reload();
          }}
        />
      )}
      <ErrorBanner error={list.error} />
      {list.loading && list.rows.length === 0 ? (
        <Loading />
      ) : list.rows.length === 0 ? (
        <Empty>No sponsors yet.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Sponsor</th>
              <th scope="col">Delivery URL</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Keys and offers</th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td>
                <td>{s.deliveryUrl ?? <span class="muted">—</span>}</td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td>{formatDateTime(s.createdAt)}</td>
                <td>
                  <Button class="btn btn-plain btn-small" aria-label={`Open ${s.name}`} aria-pressed={selected?.id === s.id} onClick={() => setSelected(s)}>
                    Open
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore shown={list.rows.length} total={list.total} loading={list.loading} onMore={() => void list.loadMore()} />
      {selected && <SponsorDetail key={selected.id} sponsor={selected} writer={writer} onClose={() => setSelected(null)} />}
    </section>
  );
}
