/**
 * Adding a sender mailbox: a sink account (the embedded default: mail is captured in Dev mail),
 * an SMTP mailbox (host, port, login) or a Gmail API mailbox (OAuth or service-account JSON).
 * The API checks everything; its field errors are shown next to the fields.
 */
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiError, getAll } from '../api';
import { ClientSelect, useClientOptions } from '../components/admin-form';
import { Button, ErrorBanner, Field, PageHeader } from '../components/ui';
import { useApi } from '../components/use-api';
import { isOwner, useUser } from '../session';

interface Domain {
  id: string;
  clientId: string;
  domain: string;
}
type Transport = 'sink' | 'smtp' | 'gmail';

const fieldError = (error: unknown, path: string): string | undefined =>
  error instanceof ApiError ? error.details?.issues?.find((i) => i.path === path || i.path.startsWith(`${path}.`))?.message : undefined;

export function MailboxNewPage() {
  const user = useUser();
  const { route } = useLocation();
  const owner = isOwner(user);
  const clients = useClientOptions(owner);
  const domains = useApi(() => getAll<Domain>('/domains', 'domains'), []);
  const [transport, setTransport] = useState<Transport>('sink');
  const [clientId, setClientId] = useState('');
  const [form, setForm] = useState({ email: '', displayName: '', domainId: '', dailyLimit: '', hourlyLimit: '', minGapSeconds: '', timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, warmupDay: '' });
  const [smtp, setSmtp] = useState({ host: '', port: '587', user: '', pass: '' });
  const [gmailJson, setGmailJson] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const effectiveClient = owner ? clientId : (user?.clientId ?? '');
  const clientDomains = (domains.data ?? []).filter((d) => !effectiveClient || d.clientId === effectiveClient);
  const set = (key: keyof typeof form) => (event: Event) => setForm({ ...form, [key]: (event.currentTarget as HTMLInputElement).value });
  const number = (value: string) => (value.trim() === '' ? undefined : Number(value));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let credentials: unknown;
      let transportSettings: unknown = {};
      if (transport === 'smtp') {
        transportSettings = { host: smtp.host.trim(), port: Number(smtp.port) };
        if (smtp.user) credentials = { user: smtp.user, pass: smtp.pass };
      }
      if (transport === 'gmail') {
        try {
          credentials = JSON.parse(gmailJson);
        } catch {
          throw new ApiError(400, 'validation_failed', 'Invalid body', { issues: [{ path: 'credentials', message: 'not valid JSON' }] });
        }
      }
      const body = {
        transport,
        email: form.email.trim(),
        ...(form.displayName.trim() ? { displayName: form.displayName.trim() } : {}),
        ...(owner && clientId ? { clientId } : {}),
        ...(form.domainId ? { domainId: form.domainId } : {}),
        ...(number(form.dailyLimit) !== undefined ? { dailyLimit: number(form.dailyLimit) } : {}),
        ...(number(form.hourlyLimit) !== undefined ? { hourlyLimit: number(form.hourlyLimit) } : {}),
        ...(number(form.minGapSeconds) !== undefined ? { minGapSeconds: number(form.minGapSeconds) } : {}),
        ...(number(form.warmupDay) !== undefined ? { warmupDay: number(form.warmupDay) } : {}),
        ...(form.timeZone ? { timeZone: form.timeZone } : {}),
        transportSettings,
        ...(credentials !== undefined ? { credentials } : {}),
      };
      const created = await api.post<{ id: string }>('/accounts', body);
      route(`/fleet/${created.id}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <PageHeader title="Add a mailbox" />
      <form class="panel form-narrow" onSubmit={submit} aria-label="New mailbox">
        <Field label="Provider" id="mb-transport" hint="Sink accounts capture their mail in Dev mail instead of delivering it (for trying things out).">
          <select id="mb-transport" value={transport} onChange={(e) => setTransport(e.currentTarget.value as Transport)}>
            <option value="sink">Sink (captured, not delivered)</option>
            <option value="smtp">SMTP</option>
            <option value="gmail">Gmail API</option>
          </select>
        </Field>
        {owner && <ClientSelect id="mb-client" clients={clients} value={clientId} onChange={setClientId} error={fieldError(error, 'clientId')} />}
        <Field label="Sender domain" id="mb-domain" error={fieldError(error, 'domainId')} hint="The address's domain must be one of the client's sender domains.">
          <select id="mb-domain" value={form.domainId} onChange={set('domainId')}>
            <option value="">Found from the address</option>
            {clientDomains.map((d) => (
              <option key={d.id} value={d.id}>
                {d.domain}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Email address" id="mb-email" error={fieldError(error, 'email')}>
          <input id="mb-email" type="email" required value={form.email} onInput={set('email')} />
        </Field>
        <Field label="Display name" id="mb-display" error={fieldError(error, 'displayName')}>
          <input id="mb-display" value={form.displayName} onInput={set('displayName')} />
        </Field>
        {transport === 'smtp' && (
          <fieldset>
            <legend>SMTP server</legend>
            <Field label="Host" id="mb-smtp-host" error={fieldError(error, 'transportSettings.host')}>
              <input id="mb-smtp-host" required value={smtp.host} onInput={(e) => setSmtp({ ...smtp, host: e.currentTarget.value })} />
            </Field>
            <Field label="Port" id="mb-smtp-port" error={fieldError(error, 'transportSettings.port')}>
              <input id="mb-smtp-port" type="number" min={1} max={65535} required value={smtp.port} onInput={(e) => setSmtp({ ...smtp, port: e.currentTarget.value })} />
            </Field>
            <Field label="Login" id="mb-smtp-user" hint="Leave empty for a relay that accepts this server without AUTH." error={fieldError(error, 'credentials.user')}>
              <input id="mb-smtp-user" autoComplete="off" value={smtp.user} onInput={(e) => setSmtp({ ...smtp, user: e.currentTarget.value })} />
            </Field>
            <Field label="Password" id="mb-smtp-pass" error={fieldError(error, 'credentials.pass')}>
              <input id="mb-smtp-pass" type="password" autoComplete="new-password" value={smtp.pass} onInput={(e) => setSmtp({ ...smtp, pass: e.currentTarget.value })} />
            </Field>
          </fieldset>
        )}
        {transport === 'gmail' && (
          <Field label="Google credentials (JSON)" id="mb-gmail" hint='{"type":"oauth2","client_id":…,"client_secret":…,"refresh_token":…} or a service account key with domain-wide delegation' error={fieldError(error, 'credentials')}>
            <textarea id="mb-gmail" required value={gmailJson} onInput={(e) => setGmailJson(e.currentTarget.value)} />
          </Field>
        )}
        <fieldset>
          <legend>Limits (empty: the configured defaults)</legend>
          <div class="grid-2">
            <Field label="Daily limit" id="mb-daily" error={fieldError(error, 'dailyLimit')}>
              <input id="mb-daily" type="number" min={0} value={form.dailyLimit} onInput={set('dailyLimit')} />
            </Field>
            <Field label="Hourly limit" id="mb-hourly" error={fieldError(error, 'hourlyLimit')}>
              <input id="mb-hourly" type="number" min={0} value={form.hourlyLimit} onInput={set('hourlyLimit')} />
            </Field>
            <Field label="Minimum gap (seconds)" id="mb-gap" error={fieldError(error, 'minGapSeconds')}>
              <input id="mb-gap" type="number" min={0} value={form.minGapSeconds} onInput={set('minGapSeconds')} />
            </Field>
            <Field label="Warm-up day today" id="mb-warmup" hint="For a mailbox that is already warm; empty starts the warm-up today." error={fieldError(error, 'warmupDay')}>
              <input id="mb-warmup" type="number" min={0} value={form.warmupDay} onInput={set('warmupDay')} />
            </Field>
            <Field label="Time zone" id="mb-tz" error={fieldError(error, 'timeZone')}>
              <input id="mb-tz" value={form.timeZone} onInput={set('timeZone')} />
            </Field>
          </div>
        </fieldset>
        <ErrorBanner error={error} />
        <div class="page-actions">
          <Button type="submit" kind="primary" busy={busy}>
            Add mailbox
          </Button>
          <a href="/fleet">Cancel</a>
        </div>
      </form>
    </section>
  );
}
