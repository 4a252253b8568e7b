/**
 * Alerts: the live list (polled every 10 s while the tab is visible) filtered by state,
 * acknowledgement and severity, with an acknowledge button; and the alert channels
 * (Telegram, Slack, signed webhook, e-mail): list, add, edit, delete, send a test. Secrets are
 * write-only: the form leaves them empty and an empty secret keeps the stored one.
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ClientSelect, ConfirmButton, describedBy, FormPanel, LoadMore, useClientOptions, useForm, usePagedList } from '../components/admin-form';
import { Button, Empty, ErrorBanner, Field, formatDateTime, formatRelative, Loading, Notice, PageHeader } from '../components/ui';
import { canWrite, isOwner, useUser } from '../session';

type Severity = 'info' | 'warning' | 'critical';
type ChannelKind = 'telegram' | 'slack' | 'webhook' | 'email';

interface Alert {
  id: number;
  clientId: string | null;
  accountId: string | null;
  severity: Severity;
  code: string;
  entityKey: string;
  message: string;
  occurrences: number;
  createdAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  acknowledgedAt: string | null;
}
interface Channel {
  id: string;
  clientId: string | null;
  kind: ChannelKind;
  name: string;
  minSeverity: Severity;
  enabled: boolean;
  chatId: string | null;
  url: string | null;
  to: string | null;
  hasSecret: boolean;
}

const SEVERITY_TONE: Record<Severity, string> = { info: 'info', warning: 'warn', critical: 'bad' };
const KIND_LABEL: Record<ChannelKind, string> = { telegram: 'Telegram', slack: 'Slack', webhook: 'Webhook', email: 'E-mail' };

function SeverityBadge({ severity }: { severity: Severity }) {
  return <span class={`badge badge-${SEVERITY_TONE[severity]}`}>{severity}</span>;
}

function AlertList({ writer }: { writer: boolean }) {
  const [state, setState] = useState('open');
  const [acknowledged, setAcknowledged] = useState('');
  const [severity, setSeverity] = useState('');
  const list = usePagedList<Alert>('/alerts', 'alerts', { state, acknowledged, severity }, { pollMs: 10_000 });
  const ack = useForm();
  return (
    <section aria-labelledby="alerts-list">
      <h2 id="alerts-list">Alerts</h2>
      <div class="toolbar">
        <Field label="State" id="alert-state">
          <select id="alert-state" value={state} onChange={(e) => setState(e.currentTarget.value)}>
            <option value="open">Open</option>
            <option value="resolved">Resolved</option>
            <option value="all">All</option>
          </select>
        </Field>
        <Field label="Acknowledged" id="alert-ack">
          <select id="alert-ack" value={acknowledged} onChange={(e) => setAcknowledged(e.currentTarget.value)}>
            <option value="">Either</option>
            <option value="false">Not acknowledged</option>
            <option value="true">Acknowledged</option>
          </select>
        </Field>
        <Field label="Severity" id="alert-severity">
          <select id="alert-severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="critical">Critical</option>
            <option value="warning">Warning</option>
            <option value="info">Info</option>
          </select>
        </Field>
        <span class="muted">Refreshed every 10 s</span>
      </div>
      <ErrorBanner error={list.error ?? ack.error} />
      {list.loading && list.rows.length === 0 ? (
        <Loading />
      ) : list.rows.length === 0 ? (
        <Empty>No alerts here.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Alert</th>
              <th scope="col">About</th>
              <th scope="col" class="num">Times</th>
              <th scope="col">Last seen</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((a) => (
              <tr key={a.id}>
                <td>
                  <SeverityBadge severity={a.severity} />
                </td>
                <td>
                  <div>{a.message}</div>
                  <small class="muted">{a.code}</small>
                </td>
                <td>
                  <code>{a.entityKey}</code>
                </td>
                <td class="num">{a.occurrences}</td>
                <td title={formatDateTime(a.lastSeenAt)}>{formatRelative(a.lastSeenAt)}</td>
                <td>
                  {a.resolvedAt ? (
                    <span>resolved {formatRelative(a.resolvedAt)}</span>
                  ) : a.acknowledgedAt ? (
                    <span>acknowledged {formatRelative(a.acknowledgedAt)}</span>
                  ) : writer ? (
                    <Button
                      class="btn btn-plain btn-small"
                      busy={ack.busy}
                      aria-label={`Acknowledge ${a.code} ${a.entityKey}`}
                      onClick={async () => {
                        await ack.submit(() => api.post(`/alerts/${a.id}/acknowledge`));
                        await list.reload();
                      }}
                    >
                      Acknowledge
                    </Button>
                  ) : (
                    <span class="badge badge-bad">open</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore shown={list.rows.length} total={list.total} loading={list.loading} onMore={() => void list.loadMore()} />
    </section>
  );
}

function ChannelForm({ channel, owner, onSaved, onClose }: { channel: Channel | null; owner: boolean; onSaved: () => void; onClose: () => void }) {
  const clients = useClientOptions(owner && !channel);
  const [kind, setKind] = useState<ChannelKind>(channel?.kind ?? 'email');
  const [name, setName] = useState(channel?.name ?? '');
  const [minSeverity, setMinSeverity] = useState<Severity>(channel?.minSeverity ?? 'warning');
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [clientId, setClientId] = useState('');
  const [chatId, setChatId] = useState(channel?.chatId ?? '');
  const [url, setUrl] = useState(channel?.url ?? '');
  const [to, setTo] = useState(channel?.to ?? '');
  const [secret, setSecret] = useState('');
  const form = useForm();
  const f = form.fieldErrors;
  const editing = channel !== null;
  // Blank secrets on edit keep the stored one.
  const secretField = kind === 'telegram' ? 'botToken' : kind === 'slack' ? 'webhookUrl' : 'secret';
  const secretLabel = kind === 'telegram' ? 'Bot token' : kind === 'slack' ? 'Slack incoming-webhook URL' : 'Signing secret';

  const save = async (event: Event) => {
    event.preventDefault();
    const body: Record<string, unknown> = { kind, name: name.trim(), minSeverity, enabled };
    if (!editing && owner && clientId) body.clientId = clientId;
    if (kind === 'telegram') body.chatId = chatId.trim();
    if (kind === 'webhook') body.url = url.trim();
    if (kind === 'email') body.to = to.trim();
    if (kind !== 'email' && (secret || !editing)) body[secretField] = secret;
    if (await form.submit(() => (editing ? api.patch(`/alert-channels/${channel.id}`, body) : api.post('/alert-channels', body)))) onSaved();
  };

  return (
    <FormPanel title={editing ? `Edit channel ${channel.name}` : 'Add a channel'} onClose={onClose}>
      <form onSubmit={save} noValidate>
        <ErrorBanner error={form.error} />
        <div class="grid-2">
          <div>
            <Field label="Kind" id="channel-kind" hint={editing ? 'A channel keeps its kind' : undefined} error={f.kind}>
              <select id="channel-kind" value={kind} disabled={editing} onChange={(e) => setKind(e.currentTarget.value as ChannelKind)}>
                {(Object.keys(KIND_LABEL) as ChannelKind[]).map((k) => (
                  <option key={k} value={k}>
                    {KIND_LABEL[k]}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Channel name" id="channel-name" error={f.name}>
              <input {...describedBy('channel-name', f.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <Field label="Least severity sent" id="channel-severity" error={f.minSeverity}>
              <select id="channel-severity" value={minSeverity} onChange={(e) => setMinSeverity(e.currentTarget.value as Severity)}>
                <option value="info">Info</option>
                <option value="warning">Warning</option>
                <option value="critical">Critical</option>
              </select>
            </Field>
            <div class="field">
              <label>
                <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} /> Enabled
              </label>
            </div>
            {owner && !editing && <ClientSelect id="channel-client" label="Client (empty: your own channel, every alert)" clients={clients} value={clientId} onChange={setClientId} error={f.clientId} />}
          </div>
          <div>
            {kind === 'telegram' && (
              <Field label="Chat id" id="channel-chat" hint="A number, or @channelname" error={f.chatId}>
                <input {...describedBy('channel-chat', f.chatId, true)} value={chatId} onInput={(e) => setChatId(e.currentTarget.value)} />
              </Field>
            )}
            {kind === 'webhook' && (
              <Field label="Webhook URL" id="channel-url" hint="Receives the alert as signed JSON" error={f.url}>
                <input {...describedBy('channel-url', f.url, true)} type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
              </Field>
            )}
            {kind === 'email' && (
              <Field label="Send to" id="channel-to" error={f.to}>
                <input {...describedBy('channel-to', f.to)} type="email" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
              </Field>
            )}
            {kind !== 'email' && (
              <Field label={secretLabel} id="channel-secret" hint={editing ? 'Stored and never shown; leave empty to keep it' : 'Stored encrypted and never shown again'} error={f[secretField]}>
                <input {...describedBy('channel-secret', f[secretField], true)} type="password" autoComplete="off" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
              </Field>
            )}
          </div>
        </div>
        <Button kind="primary" type="submit" busy={form.busy}>
          {editing ? 'Save channel' : 'Add channel'}
        </Button>
      </form>
    </FormPanel>
  );
}

function Channels({ owner, writer }: { owner: boolean; writer: boolean }) {
  const list = usePagedList<Channel>('/alert-channels', 'channels', {});
  const [editing, setEditing] = useState<Channel | 'new' | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const action = useForm();
  return (
    <section aria-labelledby="alert-channels">
      <div class="page-header">
        <h2 id="alert-channels">Channels</h2>
        {writer && (
          <Button kind="primary" onClick={() => setEditing('new')}>
            Add a channel
          </Button>
        )}
      </div>
      {editing && (
        <ChannelForm
          key={editing === 'new' ? 'new' : editing.id}
          channel={editing === 'new' ? null : editing}
          owner={owner}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void list.reload();
          }}
        />
      )}
      {sent && <Notice kind="ok">{sent}</Notice>}
      <ErrorBanner error={list.error ?? action.error} />
      {list.loading && list.rows.length === 0 ? (
        <Loading />
      ) : list.rows.length === 0 ? (
        <Empty>No channels: alerts show here only.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Destination</th>
              <th scope="col">From severity</th>
              <th scope="col">Scope</th>
              <th scope="col">Enabled</th>
              {writer && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.rows.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>{KIND_LABEL[c.kind]}</td>
                <td>{c.to ?? c.url ?? c.chatId ?? (c.hasSecret ? <span class="muted">stored URL</span> : '—')}</td>
                <td>
                  <SeverityBadge severity={c.minSeverity} />
                </td>
                <td>{c.clientId ? 'client' : 'every alert'}</td>
                <td>{c.enabled ? 'yes' : 'no'}</td>
                {writer && (
                  <td>
                    <Button class="btn btn-plain btn-small" aria-label={`Edit ${c.name}`} onClick={() => setEditing(c)}>
                      Edit
                    </Button>{' '}
                    <Button
                      class="btn btn-plain btn-small"
                      aria-label={`Send a test to ${c.name}`}
                      busy={action.busy}
                      onClick={async () => {
                        if (await action.submit(() => api.post(`/alert-channels/${c.id}/test`))) setSent(`Test message queued for ${c.name}`);
                      }}
                    >
                      Send test
                    </Button>{' '}
                    <ConfirmButton
                      label="Delete"
                      what={c.name}
                      busy={action.busy}
                      onConfirm={async () => {
                        await action.submit(() => api.delete(`/alert-channels/${c.id}`));
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
    </section>
  );
}

export function AlertsPage() {
  const user = useUser();
  const writer = canWrite(user);
  return (
    <section>
      <PageHeader title="Alerts" />
      <AlertList writer={writer} />
      <Channels owner={isOwner(user)} writer={writer} />
    </section>
  );
}
