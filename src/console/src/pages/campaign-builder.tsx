/**
 * Campaign builder (/campaigns/new, /campaigns/:id/edit): settings, steps with their template
 * problems inline, sender pool, sending window and time zone, tracking; saved as a draft
 * (POST, then PATCH + PUT steps + PUT senders). Once saved: live preview per step for a
 * chosen contact and the contacts CSV upload. The server's validation issues are shown next
 * to the fields they name.
 */
import '../components/campaign-styles.css';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, ApiError, getAll } from '../api';
import { type Account, type Campaign, type CampaignSettings, type Client, type Contact, DAY_NAMES, issueFor, minuteToTime, type TemplateProblem, timeToMinute } from '../components/campaign-model';
import { StepPreview } from '../components/campaign-preview';
import { newStepDraft, stepBody, stepDraftFrom, type StepDraft, StepsEditor } from '../components/campaign-steps';
import { ContactsUpload } from '../components/campaign-upload';
import { Button, ErrorBanner, Field, Loading, Notice, PageHeader, StatusBadge } from '../components/ui';
import { useApi } from '../components/use-api';
import { canWrite, isOwner, useUser } from '../session';

const DEFAULTS: CampaignSettings = {
  name: '',
  timeZone: 'UTC',
  useRecipientTimeZone: false,
  sendDays: [1, 2, 3, 4, 5],
  windowStartMinute: 9 * 60,
  windowEndMinute: 17 * 60,
  dailyLimit: null,
  trackOpens: false,
  trackClicks: false,
  stopOnReply: true,
  stopCompanyOnReply: null,
};

const settingsOf = (c: Campaign): CampaignSettings => ({
  name: c.name,
  timeZone: c.timeZone,
  useRecipientTimeZone: c.useRecipientTimeZone,
  sendDays: c.sendDays,
  windowStartMinute: c.windowStartMinute,
  windowEndMinute: c.windowEndMinute,
  dailyLimit: c.dailyLimit,
  trackOpens: c.trackOpens,
  trackClicks: c.trackClicks,
  stopOnReply: c.stopOnReply,
  stopCompanyOnReply: c.stopCompanyOnReply,
});

const TIME_ZONES = (() => {
  const zones = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
})();

/** Asks the server for the template problems of the steps being typed, a moment after the last keystroke. */
function useTemplateProblems(steps: StepDraft[], enabled: boolean): TemplateProblem[][] {
  const [problems, setProblems] = useState<TemplateProblem[][]>([]);
  const texts = JSON.stringify(steps.map((s) => [s.subject, s.bodyHtml, s.bodyText]));
  useEffect(() => {
    if (!enabled || steps.length === 0) return undefined;
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const answer = await api.post<{ steps: Array<{ problems: TemplateProblem[] }> }>('/campaigns/template-check', {
          steps: steps.map((s) => ({ subject: s.subject, bodyHtml: s.bodyHtml, bodyText: s.bodyText })),
        });
        if (current) setProblems(answer.steps.map((s) => s.problems));
      } catch {
        // A step too long to check is reported by the save itself.
      }
    }, 350);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [texts, enabled]);
  return problems;
}

export function CampaignBuilderPage() {
  const { params } = useRoute();
  const { route } = useLocation();
  const user = useUser();
  const id: string | undefined = params.id;
  const writable = canWrite(user);

  const loaded = useApi(async () => (id ? api.get<Campaign>(`/campaigns/${id}`) : undefined), [id]);
  const clients = useApi(async () => (isOwner(user) ? getAll<Client>('/clients', 'clients') : []), [user?.role]);

  const [settings, setSettings] = useState<CampaignSettings>(DEFAULTS);
  const [clientId, setClientId] = useState<string>(user?.clientId ?? '');
  const [steps, setSteps] = useState<StepDraft[]>(() => [newStepDraft()]);
  const [senders, setSenders] = useState<Set<string>>(new Set());
  const [windowText, setWindowText] = useState({ start: minuteToTime(DEFAULTS.windowStartMinute), end: minuteToTime(DEFAULTS.windowEndMinute) });
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    const campaign = loaded.data;
    if (!campaign) return;
    setSettings(settingsOf(campaign));
    setClientId(campaign.clientId);
    setSteps(campaign.steps?.length ? campaign.steps.map(stepDraftFrom) : [newStepDraft()]);
    setSenders(new Set(campaign.senderAccountIds ?? []));
    setWindowText({ start: minuteToTime(campaign.windowStartMinute), end: minuteToTime(campaign.windowEndMinute) });
  }, [loaded.data]);

  const campaign = loaded.data;
  const status = campaign?.status ?? 'draft';
  const editable = writable && (status === 'draft' || status === 'running' || status === 'paused');
  const stepsEditable = editable && (status === 'draft' || status === 'paused');
  const problems = useTemplateProblems(steps, stepsEditable);

  const accounts = useApi(async () => (clientId ? getAll<Account>('/accounts', 'accounts', isOwner(user) ? { clientId } : {}) : []), [clientId]);
  const contacts = useApi(async () => (id ? (await api.get<{ contacts: Contact[] }>('/contacts', { campaignId: id, limit: 50 })).contacts : []), [id, version]);

  const issue = (path: string) => issueFor(saveError, path);
  const set = <K extends keyof CampaignSettings>(key: K, value: CampaignSettings[K]) => setSettings((s) => ({ ...s, [key]: value }));

  const save = async (event: Event) => {
    event.preventDefault();
    setSaveError(null);
    setSaved(null);
    const start = timeToMinute(windowText.start);
    const end = timeToMinute(windowText.end);
    if (start === undefined || end === undefined) {
      setSaveError(new ApiError(400, 'validation_failed', 'Invalid sending window', { issues: [...(start === undefined ? [{ path: 'windowStartMinute', message: 'use HH:MM, e.g. 09:00' }] : []), ...(end === undefined ? [{ path: 'windowEndMinute', message: 'use HH:MM, e.g. 17:00' }] : [])] }));
      return;
    }
    const body = { ...settings, windowStartMinute: start, windowEndMinute: end };
    const senderAccountIds = [...senders];
    setSaving(true);
    try {
      if (!id) {
        const created = await api.post<Campaign>('/campaigns', { ...body, ...(isOwner(user) ? { clientId } : {}), steps: steps.map(stepBody), senderAccountIds });
        route(`/campaigns/${created.id}/edit`);
        return;
      }
      await api.patch<Campaign>(`/campaigns/${id}`, body);
      if (stepsEditable) await api.put(`/campaigns/${id}/steps`, { steps: steps.map(stepBody) });
      await api.put(`/campaigns/${id}/senders`, { senderAccountIds });
      await loaded.reload();
      setVersion((v) => v + 1);
      setSaved('Saved.');
    } catch (caught) {
      setSaveError(caught);
    } finally {
      setSaving(false);
    }
  };

  const clientName = useMemo(() => clients.data?.find((c) => c.id === clientId)?.name, [clients.data, clientId]);

  if (id && loaded.error) {
    return (
      <section>
        <PageHeader title="Campaign" />
        <ErrorBanner error={loaded.error instanceof ApiError && loaded.error.status === 404 ? new Error('This campaign does not exist or is not yours to see.') : loaded.error} />
        <a href="/campaigns">Back to campaigns</a>
      </section>
    );
  }
  if (id && !campaign) return <Loading what="Loading the campaign" />;

  return (
    <section>
      <PageHeader title={id ? `Edit: ${campaign?.name ?? ''}` : 'New campaign'}>
        {campaign && <StatusBadge status={campaign.status} />}
        {id && <a href={`/campaigns/${id}`}>Campaign page</a>}
      </PageHeader>
      {!writable && <Notice>You can read this campaign; changing it needs an admin.</Notice>}
      {writable && !editable && <Notice>A {status} campaign cannot change.</Notice>}
      <form onSubmit={(event) => void save(event)} noValidate>
        <div class="grid-2">
          <fieldset>
            <legend>Campaign</legend>
            <Field label="Name" id="campaign-name" error={issue('name')}>
              <input id="campaign-name" type="text" value={settings.name} readOnly={!editable} aria-invalid={issue('name') ? 'true' : undefined} onInput={(e) => set('name', e.currentTarget.value)} />
            </Field>
            {isOwner(user) && !id ? (
              <Field label="Client" id="campaign-client" error={issue('clientId')}>
                <select id="campaign-client" value={clientId} onChange={(e) => { setClientId(e.currentTarget.value); setSenders(new Set()); }}>
                  <option value="">Choose a client…</option>
                  {(clients.data ?? []).map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                    </option>
                  ))}
                </select>
              </Field>
            ) : (
              isOwner(user) && <p>Client: {clientName ?? clientId}</p>
            )}
            <Field label="Daily limit (empty: none)" id="campaign-daily-limit" error={issue('dailyLimit')}>
              <input id="campaign-daily-limit" type="number" min={1} value={settings.dailyLimit ?? ''} readOnly={!editable} onInput={(e) => set('dailyLimit', e.currentTarget.value === '' ? null : Number(e.currentTarget.value))} />
            </Field>
          </fieldset>
          <fieldset>
            <legend>Sending window</legend>
            <div class="toolbar">
              <Field label="Starts at (HH:MM)" id="window-start" error={issue('windowStartMinute')}>
                <input id="window-start" type="text" inputMode="numeric" value={windowText.start} readOnly={!editable} onInput={(e) => setWindowText((w) => ({ ...w, start: e.currentTarget.value }))} />
              </Field>
              <Field label="Ends at (HH:MM)" id="window-end" error={issue('windowEndMinute')}>
                <input id="window-end" type="text" inputMode="numeric" value={windowText.end} readOnly={!editable} onInput={(e) => setWindowText((w) => ({ ...w, end: e.currentTarget.value }))} />
              </Field>
            </div>
            <fieldset class="inline-choices">
              <legend>Send on</legend>
              {DAY_NAMES.map((name, index) => (
                <label key={name}>
                  <input
                    type="checkbox"
                    checked={settings.sendDays.includes(index + 1)}
                    disabled={!editable}
                    onChange={(e) => set('sendDays', e.currentTarget.checked ? [...settings.sendDays, index + 1].sort() : settings.sendDays.filter((d) => d !== index + 1))}
                  />{' '}
                  {name}
                </label>
              ))}
              {issue('sendDays') && <p class="field-error">{issue('sendDays')}</p>}
            </fieldset>
            <Field label="Time zone" id="campaign-time-zone" error={issue('timeZone')}>
              <select id="campaign-time-zone" value={settings.timeZone} disabled={!editable} onChange={(e) => set('timeZone', e.currentTarget.value)}>
                {(TIME_ZONES.includes(settings.timeZone) ? TIME_ZONES : [settings.timeZone, ...TIME_ZONES]).map((zone) => (
                  <option key={zone} value={zone}>
                    {zone}
                  </option>
                ))}
              </select>
            </Field>
            <label class="check">
              <input type="checkbox" checked={settings.useRecipientTimeZone} disabled={!editable} onChange={(e) => set('useRecipientTimeZone', e.currentTarget.checked)} /> Send in each contact’s own time zone (when known)
            </label>
          </fieldset>
        </div>
        <fieldset>
          <legend>Tracking and stopping</legend>
          <label class="check">
            <input type="checkbox" checked={settings.trackOpens} disabled={!editable} onChange={(e) => set('trackOpens', e.currentTarget.checked)} /> Track opens (a pixel)
          </label>
          <label class="check">
            <input type="checkbox" checked={settings.trackClicks} disabled={!editable} onChange={(e) => set('trackClicks', e.currentTarget.checked)} /> Track clicks (links go through this server)
          </label>
          <label class="check">
            <input type="checkbox" checked={settings.stopOnReply} disabled={!editable} onChange={(e) => set('stopOnReply', e.currentTarget.checked)} /> Stop a contact’s sequence when they reply
          </label>
          <Field label="When a contact replies, also stop their colleagues (same company domain)" id="stop-company">
            <select
              id="stop-company"
              value={settings.stopCompanyOnReply === null ? 'default' : String(settings.stopCompanyOnReply)}
              disabled={!editable}
              onChange={(e) => set('stopCompanyOnReply', e.currentTarget.value === 'default' ? null : e.currentTarget.value === 'true')}
            >
              <option value="default">Server default</option>
              <option value="true">Yes</option>
              <option value="false">No</option>
            </select>
          </Field>
        </fieldset>

        <StepsEditor steps={steps} onChange={setSteps} problems={problems} issueFor={issue} readOnly={!stepsEditable} canRemove={status === 'draft'} />

        <fieldset>
          <legend>Sender pool</legend>
          {!clientId ? (
            <p class="muted">Choose a client first.</p>
          ) : accounts.loading && !accounts.data ? (
            <Loading what="Loading accounts" />
          ) : (accounts.data ?? []).length === 0 ? (
            <p class="muted">This client has no sender accounts yet.</p>
          ) : (
            <div class="sender-list">
              {(accounts.data ?? []).map((a) => (
                <label key={a.id} class="check">
                  <input
                    type="checkbox"
                    checked={senders.has(a.id)}
                    disabled={!editable}
                    onChange={(e) => {
                      const next = new Set(senders);
                      if (e.currentTarget.checked) next.add(a.id);
                      else next.delete(a.id);
                      setSenders(next);
                    }}
                  />{' '}
                  {a.email} <span class="muted">({a.transport}, {a.status})</span>
                </label>
              ))}
            </div>
          )}
          {issue('senderAccountIds') && <p class="field-error">{issue('senderAccountIds')}</p>}
          <ErrorBanner error={accounts.error} />
        </fieldset>

        <ErrorBanner error={saveError} />
        {saved && <Notice kind="ok">{saved}</Notice>}
        {editable && (
          <div class="page-actions">
            <Button kind="primary" type="submit" busy={saving}>
              {id ? 'Save' : 'Save draft'}
            </Button>
            <a href={id ? `/campaigns/${id}` : '/campaigns'}>Cancel</a>
          </div>
        )}
      </form>

      {id && (
        <>
          {writable && status !== 'completed' && status !== 'cancelled' && <ContactsUpload campaignId={id} onImported={() => setVersion((v) => v + 1)} />}
          <section class="panel" aria-labelledby="preview-title">
            <h2 id="preview-title">Preview</h2>
            <p class="muted">Each saved step as it would go out to a contact of this campaign.</p>
            <ErrorBanner error={contacts.error} />
            {(campaign?.steps ?? []).map((step) => (
              <StepPreview key={step.id} campaignId={id} stepNumber={step.stepNumber} contacts={contacts.data ?? []} version={version} />
            ))}
          </section>
        </>
      )}
    </section>
  );
}
