/**
 * Dev mail: what the sink accounts (the embedded default's outbound "mailbox") captured, newest
 * first, so a newcomer sees a campaign's mail in the browser. The HTML is shown in a sandboxed
 * iframe served under its own no-script, no-network CSP (src/transports/sink-preview.ts); the
 * text, headers and raw source are shown as text.
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Button, Empty, ErrorBanner, formatDateTime, Loading, PageHeader } from '../components/ui';
import { useApi } from '../components/use-api';

interface Summary {
  id: number;
  from: string;
  to: string[];
  messageId: string | null;
  subject: string;
  sizeBytes: number;
  receivedAt: string;
}
interface Detail extends Summary {
  raw: string;
  text: string | null;
  hasHtml: boolean;
  headers: { name: string; value: string }[];
  previewPath: string;
}

const PAGE = 100;
type Tab = 'rendered' | 'text' | 'headers' | 'source';
const TABS: { id: Tab; label: string }[] = [
  { id: 'rendered', label: 'Rendered' },
  { id: 'text', label: 'Text' },
  { id: 'headers', label: 'Headers' },
  { id: 'source', label: 'Source' },
];

function MessageView({ id }: { id: number }) {
  const [tab, setTab] = useState<Tab>('rendered');
  const { data, error, loading } = useApi((signal) => api.get<Detail>(`/sink/messages/${id}`, undefined, signal), [id]);
  if (error) return <ErrorBanner error={error} />;
  if (loading && !data) return <Loading what="Opening the message" />;
  if (!data) return null;
  return (
    <article class="panel" aria-labelledby="message-subject">
      <h2 id="message-subject">{data.subject || '(no subject)'}</h2>
      <dl class="facts">
        <dt>From</dt>
        <dd>{data.from}</dd>
        <dt>To</dt>
        <dd>{data.to.join(', ')}</dd>
        <dt>Received</dt>
        <dd>{formatDateTime(data.receivedAt)}</dd>
        <dt>Message-ID</dt>
        <dd>{data.messageId ?? '—'}</dd>
      </dl>
      <div class="tabs" role="tablist" aria-label="Message views">
        {TABS.map((t) => (
          <button key={t.id} type="button" role="tab" id={`tab-${t.id}`} aria-selected={tab === t.id} aria-controls="message-panel" onClick={() => setTab(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      <div id="message-panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'rendered' && <iframe class="mail-preview" title={`Rendered message: ${data.subject}`} sandbox="" referrerpolicy="no-referrer" src={data.previewPath} />}
        {tab === 'text' && <pre class="message-text">{data.text ?? '(no text part)'}</pre>}
        {tab === 'headers' && (
          <table>
            <caption class="visually-hidden">Header fields</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {data.headers.map((h, index) => (
                <tr key={index}>
                  <td>{h.name}</td>
                  <td class="wrap">{h.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {tab === 'source' && <pre aria-label="Raw source">{data.raw}</pre>}
      </div>
    </article>
  );
}

export function DevMailPage() {
  const [older, setOlder] = useState<Summary[]>([]);
  const [selected, setSelected] = useState<number | null>(null);
  const [exhausted, setExhausted] = useState(false);
  const newest = useApi((signal) => api.get<{ messages: Summary[] }>('/sink/messages', { limit: PAGE }, signal), [], { pollMs: 5000 });
  const first = newest.data?.messages ?? [];
  const messages = [...first, ...older.filter((m) => !first.some((f) => f.id === m.id))];

  const loadMore = async () => {
    const last = messages[messages.length - 1];
    if (!last) return;
    const page = await api.get<{ messages: Summary[] }>('/sink/messages', { limit: PAGE, before: last.id });
    setOlder((current) => [...current, ...page.messages]);
    if (page.messages.length < PAGE) setExhausted(true);
  };

  return (
    <section>
      <PageHeader title="Dev mail">
        <Button onClick={() => void newest.reload()}>Refresh</Button>
      </PageHeader>
      <p class="muted">Mail sent by sink accounts is captured here instead of being delivered. It refreshes every few seconds.</p>
      <ErrorBanner error={newest.error} />
      {newest.loading && !newest.data ? (
        <Loading what="Loading captured mail" />
      ) : messages.length === 0 ? (
        <Empty>Nothing captured yet. Start a campaign whose senders are sink accounts and its mail appears here.</Empty>
      ) : (
        <div class="grid-2">
          <div>
            <table aria-label="Captured messages">
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">To</th>
                  <th scope="col">Subject</th>
                </tr>
              </thead>
              <tbody>
                {messages.map((m) => (
                  <tr key={m.id} aria-selected={selected === m.id} class={selected === m.id ? 'selected' : undefined}>
                    <td>{formatDateTime(m.receivedAt)}</td>
                    <td>{m.to.join(', ')}</td>
                    <td>
                      <button type="button" class="link-button" onClick={() => setSelected(m.id)}>
                        {m.subject || '(no subject)'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {!exhausted && messages.length >= PAGE && <Button onClick={() => void loadMore()}>Older messages</Button>}
          </div>
          <div>{selected === null ? <Empty>Choose a message to read it.</Empty> : <MessageView id={selected} />}</div>
        </div>
      )}
    </section>
  );
}
