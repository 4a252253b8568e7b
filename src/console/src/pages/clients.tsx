/**
 * Clients (tenants), for the owner: list, create, edit (name, postal address printed in every
 * footer, tracking domain, daily limit), delete with everything the client owns.
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ConfirmButton, describedBy, FormPanel, LoadMore, useForm, usePagedList } from '../components/admin-form';
import { Button, Empty, ErrorBanner, Field, formatDateTime, formatNumber, Loading, PageHeader } from '../components/ui';
import { isOwner, useUser } from '../session';

export interface Client {
  id: string;
  name: string;
  postalAddress: string;
  trackingDomain: string | null;
  dailyLimit: number | null;
  createdAt: string;
}

function ClientForm({ client, onSaved, onClose }: { client: Client | null; onSaved: () => void; onClose: () => void }) {
  const [name, setName] = useState(client?.name ?? '');
  const [postalAddress, setPostalAddress] = useState(client?.postalAddress ?? '');
  const [trackingDomain, setTrackingDomain] = useState(client?.trackingDomain ?? '');
  const [dailyLimit, setDailyLimit] = useState(client?.dailyLimit?.toString() ?? '');
  const form = useForm();
  const f = form.fieldErrors;

  const save = async (event: Event) => {
    event.preventDefault();
    const body = {
      name: name.trim(),
      postalAddress,
      trackingDomain: trackingDomain.trim() || null,
      dailyLimit: dailyLimit.trim() === '' ? null : Number(dailyLimit),
    };
    const saved = await form.submit(() => (client ? api.patch(`/clients/${client.id}`, body) : api.post('/clients', body)));
    if (saved) onSaved();
  };

  return (
    <FormPanel title={client ? `Edit ${client.name}` : 'New client'} onClose={onClose}>
      <form onSubmit={save} noValidate>
        <ErrorBanner error={form.error} />
        <div class="grid-2">
          <div>
            <Field label="Name" id="client-name" error={f.name}>
              <input {...describedBy('client-name', f.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} required />
            </Field>
            <Field label="Tracking domain" id="client-tracking" hint="Host name for open and click links, e.g. track.example.com (optional)" error={f.trackingDomain}>
              <input {...describedBy('client-tracking', f.trackingDomain, true)} value={trackingDomain} onInput={(e) => setTrackingDomain(e.currentTarget.value)} />
            </Field>
            <Field label="Daily limit" id="client-limit" hint="Messages per day across the client's mailboxes (empty: none)" error={f.dailyLimit}>
              <input {...describedBy('client-limit', f.dailyLimit, true)} type="number" min={1} value={dailyLimit} onInput={(e) => setDailyLimit(e.currentTarget.value)} />
            </Field>
          </div>
          <Field label="Postal address" id="client-address" hint="Printed in every message footer (CAN-SPAM)" error={f.postalAddress}>
            <textarea {...(describedBy('client-address', f.postalAddress, true) as object)} value={postalAddress} onInput={(e) => setPostalAddress(e.currentTarget.value)} />
          </Field>
        </div>
        <Button kind="primary" type="submit" busy={form.busy}>
          {client ? 'Save client' : 'Create client'}
        </Button>
      </form>
    </FormPanel>
  );
}

export function ClientsPage() {
  const user = useUser();
  const owner = isOwner(user);
  const list = usePagedList<Client>('/clients', 'clients', {});
  const [editing, setEditing] = useState<Client | 'new' | null>(null);
  const remove = useForm();

  return (
    <section>
      <PageHeader title="Clients">
        {owner && (
          <Button kind="primary" onClick={() => setEditing('new')}>
            New client
          </Button>
        )}
      </PageHeader>
      {editing && (
        <ClientForm
          key={editing === 'new' ? 'new' : editing.id}
          client={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void list.reload();
          }}
        />
      )}
      <ErrorBanner error={list.error ?? remove.error} />
      {list.loading && list.rows.length === 0 ? (
        <Loading />
      ) : list.rows.length === 0 ? (
        <Empty>No clients yet.</Empty>
      ) : (
        <table>
          <caption class="muted">Clients</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Postal address</th>
              <th scope="col">Tracking domain</th>
              <th scope="col" class="num">Daily limit</th>
              <th scope="col">Created</th>
              {owner && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.rows.map((client) => (
              <tr key={client.id}>
                <td>{client.name}</td>
                <td>{client.postalAddress || <span class="muted">—</span>}</td>
                <td>{client.trackingDomain ?? <span class="muted">default</span>}</td>
                <td class="num">{formatNumber(client.dailyLimit)}</td>
                <td>{formatDateTime(client.createdAt)}</td>
                {owner && (
                  <td>
                    <Button class="btn btn-plain btn-small" onClick={() => setEditing(client)} aria-label={`Edit ${client.name}`}>
                      Edit
                    </Button>{' '}
                    <ConfirmButton
                      label="Delete"
                      what={client.name}
                      confirmLabel={`Delete ${client.name} and all its data`}
                      busy={remove.busy}
                      onConfirm={async () => {
                        await remove.submit(() => api.delete(`/clients/${client.id}`));
                        await list.reload();
                      }}
                    />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore shown={list.rows.length} total={list.total} loading={list.loading} onMore={() => void list.loadMore()} />
    </section>
  );
}
