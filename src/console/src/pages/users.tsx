/**
 * Users: the owner manages everyone (and picks the client of a client user); a client admin
 * manages the users of their own client (the API scopes the list and refuses others) and can
 * only hand out client roles; a viewer reads.
 */
import { useState } from 'preact/hooks';
import { api, getAll } from '../api';
import { ConfirmButton, describedBy, FormPanel, LoadMore, useForm, usePagedList } from '../components/admin-form';
import { useApi } from '../components/use-api';
import { Button, Empty, ErrorBanner, Field, formatDateTime, formatRelative, Loading, PageHeader, StatusBadge } from '../components/ui';
import { canWrite, isOwner, useUser, type Role } from '../session';
import type { Client } from './clients';

interface UserRow {
  id: string;
  clientId: string | null;
  email: string;
  role: Role;
  disabled: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', client_admin: 'Client admin', client_viewer: 'Client viewer' };

function NewUserForm({ owner, clients, onSaved, onClose }: { owner: boolean; clients: Client[]; onSaved: () => void; onClose: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('client_viewer');
  const [clientId, setClientId] = useState(clients[0]?.id ?? '');
  const form = useForm();
  const f = form.fieldErrors;
  const save = async (event: Event) => {
    event.preventDefault();
    const body = { email: email.trim(), password, role, ...(owner && role !== 'owner' && clientId ? { clientId } : {}) };
    if (await form.submit(() => api.post('/users', body))) onSaved();
  };
  return (
    <FormPanel title="New user" onClose={onClose}>
      <form onSubmit={save} noValidate>
        <ErrorBanner error={form.error} />
        <div class="grid-2">
          <Field label="Email" id="user-email" error={f.email}>
            <input {...describedBy('user-email', f.email)} type="email" autoComplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </Field>
          <Field label="Initial password" id="user-password" hint="Tell it to the person; they can change it after signing in" error={f.password}>
            <input {...describedBy('user-password', f.password, true)} type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </Field>
          <Field label="Role" id="user-role" error={f.role}>
            <select id="user-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              {owner && <option value="owner">{ROLE_LABEL.owner}</option>}
              <option value="client_admin">{ROLE_LABEL.client_admin}</option>
              <option value="client_viewer">{ROLE_LABEL.client_viewer}</option>
            </select>
          </Field>
          {owner && role !== 'owner' && (
            <Field label="Client" id="user-client" error={f.clientId}>
              <select id="user-client" value={clientId} onChange={(e) => setClientId(e.currentTarget.value)}>
                {clients.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
        </div>
        <Button kind="primary" type="submit" busy={form.busy}>
          Create user
        </Button>
      </form>
    </FormPanel>
  );
}

export function UsersPage() {
  const me = useUser();
  const owner = isOwner(me);
  const writer = canWrite(me);
  const list = usePagedList<UserRow>('/users', 'users', {});
  const clients = useApi((signal) => (owner ? getAll<Client>('/clients', 'clients') : Promise.resolve([] as Client[])).then((rows) => (signal.aborted ? [] : rows)), [owner]);
  const clientName = new Map((clients.data ?? []).map((c) => [c.id, c.name]));
  const [creating, setCreating] = useState(false);
  const action = useForm();

  const patch = async (user: UserRow, body: { role?: Role; disabled?: boolean }) => {
    await action.submit(() => api.patch(`/users/${user.id}`, body));
    await list.reload();
  };

  return (
    <section>
      <PageHeader title="Users">
        {writer && (
          <Button kind="primary" onClick={() => setCreating(true)}>
            New user
          </Button>
        )}
      </PageHeader>
      {creating && (
        <NewUserForm
          owner={owner}
          clients={clients.data ?? []}
          onClose={() => setCreating(false)}
          onSaved={() => {
            setCreating(false);
            void list.reload();
          }}
        />
      )}
      <ErrorBanner error={list.error ?? action.error} />
      {list.loading && list.rows.length === 0 ? (
        <Loading />
      ) : list.rows.length === 0 ? (
        <Empty>No users.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              {owner && <th scope="col">Client</th>}
              <th scope="col">State</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">Created</th>
              {writer && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.rows.map((user) => {
              // The API refuses changes to oneself and to the owner role.
              const editable = writer && user.id !== me?.userId && user.role !== 'owner';
              return (
                <tr key={user.id}>
                  <td>{user.email}</td>
                  <td>
                    {editable ? (
                      <select aria-label={`Role of ${user.email}`} value={user.role} disabled={action.busy} onChange={(e) => void patch(user, { role: e.currentTarget.value as Role })}>
                        <option value="client_admin">{ROLE_LABEL.client_admin}</option>
                        <option value="client_viewer">{ROLE_LABEL.client_viewer}</option>
                      </select>
                    ) : (
                      ROLE_LABEL[user.role]
                    )}
                  </td>
                  {owner && <td>{user.clientId ? (clientName.get(user.clientId) ?? user.clientId) : <span class="muted">—</span>}</td>}
                  <td>
                    <StatusBadge status={user.disabled ? 'disabled' : 'active'} />
                  </td>
                  <td title={formatDateTime(user.lastLoginAt)}>{user.lastLoginAt ? formatRelative(user.lastLoginAt) : 'never'}</td>
                  <td>{formatDateTime(user.createdAt)}</td>
                  {writer && (
                    <td>
                      {editable && (
                        <>
                          <Button class="btn btn-plain btn-small" busy={action.busy} onClick={() => void patch(user, { disabled: !user.disabled })} aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.email}`}>
                            {user.disabled ? 'Enable' : 'Disable'}
                          </Button>{' '}
                        </>
                      )}
                      {user.id !== me?.userId && (
                        <ConfirmButton
                          label="Delete"
                          what={user.email}
                          busy={action.busy}
                          onConfirm={async () => {
                            await action.submit(() => api.delete(`/users/${user.id}`));
                            await list.reload();
                          }}
                        />
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <LoadMore shown={list.rows.length} total={list.total} loading={list.loading} onMore={() => void list.loadMore()} />
    </section>
  );
}
