/**
 * The inbox across every mailbox: replies, auto-replies, bounces, complaints and unmatched
 * mail, newest first, filtered by kind, mailbox, campaign and match, paged by cursor ("load
 * more": the list keeps growing while read). A message opens with its reply text, headers,
 * classification, effects and history, and non-viewers reclassify it.
 *
 * Mail is written by strangers: every piece of it (subject, addresses, reply text, headers,
 * reasons) is rendered as JSX text, which Preact sets as text nodes. Nothing from a message is
 * ever set as HTML, so `<script>` or `<img onerror>` in a reply shows as those characters.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, getAll } from '../api';
import { describedBy, FormPanel, useForm } from '../components/admin-form';
import { Button, Empty, ErrorBanner, Field, formatDateTime, Loading, Notice, PageHeader, StatusBadge } from '../components/ui';
import { canWrite, useUser } from '../session';

const KINDS = ['reply', 'auto_reply', 'bounce', 'complaint', 'delay', 'delivered', 'unmatched'] as const;
type Kind = (typeof KINDS)[number];
const KIND_LABEL: Record<Kind, string> = { reply: 'Reply', auto_reply: 'Auto-reply', bounce: 'Bounce', complaint: 'Complaint', delay: 'Delay', delivered: 'Delivered', unmatched: 'Unmatched' };
const KIND_TONE: Record<Kind, string> = { reply: 'ok', auto_reply: 'info', bounce: 'bad', complaint: 'bad', delay: 'warn', delivered: 'muted', unmatched: 'muted' };

interface InboundSummary {
  id: number;
  accountId: string | null;
  source: string;
  receivedAt: string;
  from: string | null;
  to: string | null;
  subject: string;
  kind: Kind;
  subKind: string | null;
  reason: string | null;
  evidence: string;
  match: { queueId: number; campaignId: string | null; contactId: string | null; stepNumber: number | null; method: string | null } | null;
  text: string | null;
}
interface InboundDetail extends InboundSummary {
  headers: Record<string, string>;
  classification: Record<string, unknown>;
  effects: Array<{ type: string } & Record<string, unknown>>;
  history: Array<{ at: string; userId: string; from: { kind: string; subKind: string | null }; to: { kind: string; subKind: string | null }; undone: string[]; applied: string[] }>;
}
interface Option {
  id: string;
  label: string;
}

const PAGE = 50;
/** Label and value side by side (the stylesheet has no definition-list layout). */
const DD = { margin: 0 } as const;
const META_GRID = { display: 'grid', gridTemplateColumns: 'max-content 1fr', columnGap: '1rem', rowGap: '0.25rem', margin: '0 0 1rem' } as const;
/** A button that reads as a link in the table (it opens the message in place, it goes nowhere). */
const LINK_BUTTON = { background: 'none', border: 'none', padding: 0, font: 'inherit', color: 'var(--accent)', textDecoration: 'underline', cursor: 'pointer', textAlign: 'left' } as const;

function KindBadge({ kind, subKind }: { kind: Kind; subKind: string | null }) {
  return (
    <span class={`badge badge-${KIND_TONE[kind]}`}>
      {KIND_LABEL[kind]}
      {subKind ? ` · ${subKind.replace(/_/g, ' ')}` : ''}
    </span>
  );
}

function ReclassifyForm({ message, onDone }: { message: InboundDetail; onDone: (updated: InboundDetail) => void }) {
  const [kind, setKind] = useState<Kind>(message.kind);
  const [bounceType, setBounceType] = useState<'hard' | 'soft'>('hard');
  const [returnDate, setReturnDate] = useState('');
  const form = useForm();
  const f = form.fieldErrors;
  const save = async (event: Event) => {
    event.preventDefault();
    const body = { kind, ...(kind === 'bounce' ? { bounceType } : {}), ...(kind === 'auto_reply' && returnDate ? { returnDate } : {}) };
    const updated = await form.submit(() => api.post<InboundDetail>(`/inbound/${message.id}/reclassify`, body));
    if (updated) onDone(updated);
  };
  return (
    <form onSubmit={save} noValidate aria-label="Reclassify">
      <h3>Reclassify</h3>
      <p class="muted">What the current class did is undone where it can be (suppression, stopped sequence, pause) and the new class acts.</p>
      <ErrorBanner error={form.error} />
      <div class="toolbar">
        <Field label="New class" id="reclass-kind" error={f.kind}>
          <select id="reclass-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </Field>
        {kind === 'bounce' && (
          <Field label="Bounce type" id="reclass-bounce" hint="Hard suppresses and stops the sequence" error={f.bounceType}>
            <select {...(describedBy('reclass-bounce', f.bounceType, true) as object)} value={bounceType} onChange={(e) => setBounceType(e.currentTarget.value as 'hard' | 'soft')}>
              <option value="hard">Hard</option>
              <option value="soft">Soft</option>
            </select>
          </Field>
        )}
        {kind === 'auto_reply' && (
          <Field label="Back on" id="reclass-return" hint="When the sender is back (optional)" error={f.returnDate}>
            <input {...describedBy('reclass-return', f.returnDate, true)} type="date" value={returnDate} onInput={(e) => setReturnDate(e.currentTarget.value)} />
          </Field>
        )}
        <Button kind="primary" type="submit" busy={form.busy}>
          Reclassify
        </Button>
      </div>
    </form>
  );
}

function MessageDetail({ id, writer, labels, onClose, onChanged }: { id: number; writer: boolean; labels: Map<string, string>; onClose: () => void; onChanged: () => void }) {
  const [message, setMessage] = useState<InboundDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    const controller = new AbortController();
    setMessage(null);
    setSaved(false);
    api.get<InboundDetail>(`/inbound/${id}`, undefined, controller.signal).then(setMessage, (caught: unknown) => !controller.signal.aborted && setError(caught));
    return () => controller.abort();
  }, [id]);

  return (
    <FormPanel title="Message" onClose={onClose}>
      <ErrorBanner error={error} />
      {!message ? (
        !error && <Loading />
      ) : (
        <article aria-label={`Message ${message.subject || '(no subject)'}`}>
          <h3 class="message-subject">{message.subject || '(no subject)'}</h3>
          <dl class="message-meta" style={META_GRID}>
            <dt>From</dt>
            <dd style={DD}>{message.from ?? '—'}</dd>
            <dt>To</dt>
            <dd style={DD}>{message.to ?? '—'}</dd>
            <dt>Received</dt>
            <dd style={DD}>{formatDateTime(message.receivedAt)}</dd>
            <dt>Class</dt>
            <dd style={DD}>
              <KindBadge kind={message.kind} subKind={message.subKind} /> <span class="muted">by {message.evidence}</span>
            </dd>
            {message.reason && (
              <>
                <dt>Reason</dt>
                <dd style={DD}>{message.reason}</dd>
              </>
            )}
            <dt>Mailbox</dt>
            <dd style={DD}>{message.accountId ? (labels.get(message.accountId) ?? message.accountId) : message.source}</dd>
            <dt>About</dt>
            <dd style={DD}>{message.match ? `${message.match.campaignId ? (labels.get(message.match.campaignId) ?? 'a campaign') : 'a message'}, step ${message.match.stepNumber ?? '?'} (matched by ${message.match.method ?? '?'})` : 'not matched to a message of ours'}</dd>
          </dl>
          {saved && <Notice kind="ok">Reclassified as {KIND_LABEL[message.kind]}.</Notice>}
          <h3>Text</h3>
          {message.text ? <pre class="message-text reply-text">{message.text}</pre> : <p class="muted">No reply text (only replies and auto-replies carry one).</p>}
          {writer && (
            <ReclassifyForm
              key={`${message.id}/${message.kind}`}
              message={message}
              onDone={(updated) => {
                setMessage(updated);
                setSaved(true);
                onChanged();
              }}
            />
          )}
          <details>
            <summary>Headers</summary>
            <table>
              <tbody>
                {Object.entries(message.headers).map(([name, value]) => (
                  <tr key={name}>
                    <th scope="row">{name}</th>
                    <td>{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
          <details>
            <summary>Effects ({message.effects.length})</summary>
            <pre>{JSON.stringify(message.effects, null, 2)}</pre>
          </details>
          <details>
            <summary>Classification</summary>
            <pre>{JSON.stringify(message.classification, null, 2)}</pre>
          </details>
          {message.history.length > 0 && (
            <>
              <h3>History</h3>
              <ul>
                {message.history.map((h) => (
                  <li key={h.at}>
                    {formatDateTime(h.at)}: {h.from.kind} → {h.to.kind}
                    {h.undone.length ? `; undone ${h.undone.join(', ')}` : ''}
                    {h.applied.length ? `; applied ${h.applied.join(', ')}` : ''}
                  </li>
                ))}
              </ul>
            </>
          )}
        </article>
      )}
    </FormPanel>
  );
}

export function InboxPage() {
  const user = useUser();
  const writer = canWrite(user);
  const [kind, setKind] = useState('');
  const [accountId, setAccountId] = useState('');
  const [campaignId, setCampaignId] = useState('');
  const [matched, setMatched] = useState('');
  const [rows, setRows] = useState<InboundSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [openId, setOpenId] = useState<number | null>(null);
  const [mailboxes, setMailboxes] = useState<Option[]>([]);
  const [campaigns, setCampaigns] = useState<Option[]>([]);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    void getAll<{ id: string; email: string }>('/accounts', 'accounts')
      .then((r) => setMailboxes(r.map((a) => ({ id: a.id, label: a.email })).sort((a, b) => a.label.localeCompare(b.label))))
      .catch(() => undefined); // the filter stays empty; the list still works
    void getAll<{ id: string; name: string }>('/campaigns', 'campaigns')
      .then((r) => setCampaigns(r.map((c) => ({ id: c.id, label: c.name }))))
      .catch(() => undefined);
  }, []);

  const query = { kind, accountId, campaignId, matched, limit: PAGE };
  const load = async (after: string | null) => {
    setLoading(true);
    try {
      const page = await api.get<{ messages: InboundSummary[]; nextCursor: string | null }>('/inbound', { ...query, cursor: after });
      setRows((before) => (after ? [...before, ...page.messages] : page.messages));
      setCursor(page.nextCursor);
      setError(null);
    } catch (caught) {
      setError(caught);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(null), [kind, accountId, campaignId, matched, generation]);

  const labels = new Map([...mailboxes, ...campaigns].map((o) => [o.id, o.label]));

  return (
    <section>
      <PageHeader title="Inbox">
        <Button onClick={() => setGeneration((n) => n + 1)} busy={loading}>
          Refresh
        </Button>
      </PageHeader>
      <div class="toolbar" role="search">
        <Field label="Kind" id="inbox-kind">
          <select id="inbox-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">All</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Mailbox" id="inbox-mailbox">
          <select id="inbox-mailbox" value={accountId} onChange={(e) => setAccountId(e.currentTarget.value)}>
            <option value="">All mailboxes</option>
            {mailboxes.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Campaign" id="inbox-campaign">
          <select id="inbox-campaign" value={campaignId} onChange={(e) => setCampaignId(e.currentTarget.value)}>
            <option value="">All campaigns</option>
            {campaigns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Matched" id="inbox-matched">
          <select id="inbox-matched" value={matched} onChange={(e) => setMatched(e.currentTarget.value)}>
            <option value="">Either</option>
            <option value="true">About a message of ours</option>
            <option value="false">Left for a person</option>
          </select>
        </Field>
      </div>
      <ErrorBanner error={error} />
      {openId !== null && <MessageDetail key={openId} id={openId} writer={writer} labels={labels} onClose={() => setOpenId(null)} onChanged={() => setGeneration((n) => n + 1)} />}
      {loading && rows.length === 0 ? (
        <Loading />
      ) : rows.length === 0 ? (
        <Empty>No messages{kind || accountId || campaignId || matched ? ' match these filters' : ' yet'}.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Class</th>
              <th scope="col">From</th>
              <th scope="col">Subject and text</th>
              <th scope="col">Mailbox</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.id}>
                <td>{formatDateTime(m.receivedAt)}</td>
                <td>
                  <KindBadge kind={m.kind} subKind={m.subKind} />
                </td>
                <td>{m.from ?? '—'}</td>
                <td>
                  <button type="button" style={LINK_BUTTON} aria-expanded={openId === m.id} onClick={() => setOpenId(m.id)}>
                    {m.subject || '(no subject)'}
                  </button>
                  {(m.text ?? m.reason) && <div class="muted">{(m.text ?? m.reason ?? '').slice(0, 140)}</div>}
                </td>
                <td>{m.accountId ? (labels.get(m.accountId) ?? '…') : <StatusBadge status={m.source} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="load-more muted">
        {rows.length} shown{' '}
        {cursor && (
          <Button busy={loading} onClick={() => void load(cursor)}>
            Load more
          </Button>
        )}
      </p>
    </section>
  );
}
