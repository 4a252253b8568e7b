/**
 * Live preview of one step for one contact (GET /campaigns/:id/steps/:n/preview), fetched a
 * moment after the last change. The rendered HTML is never injected as markup: it is parsed
 * by an inert DOMParser document and rebuilt as Preact elements from a short list of harmless
 * tags, without attributes (links keep their address as text), so nothing in it runs, loads
 * (a tracking pixel would count an open) or breaks the console's CSP.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import type { Contact, TemplateProblem } from './campaign-model';
import { ErrorBanner, Loading } from './ui';

interface Preview {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  problems: TemplateProblem[];
}

const KEPT = new Set(['p', 'br', 'b', 'strong', 'i', 'em', 'u', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'blockquote', 'div', 'span', 'table', 'tbody', 'thead', 'tr', 'td', 'th', 'hr', 'pre', 'code', 'small']);
const DROPPED = new Set(['script', 'style', 'head', 'title', 'meta', 'link', 'iframe', 'object', 'embed', 'noscript', 'template', 'svg', 'math']);

function rebuild(node: Node, key: number): ComponentChildren {
  if (node.nodeType === Node.TEXT_NODE) return node.textContent;
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const element = node as Element;
  const tag = element.tagName.toLowerCase();
  if (DROPPED.has(tag)) return null;
  const children = Array.from(element.childNodes).map((child, index) => rebuild(child, index));
  if (tag === 'img') return <span key={key} class="muted">[image{element.getAttribute('alt') ? `: ${element.getAttribute('alt')}` : ''}]</span>;
  if (tag === 'a') {
    const href = element.getAttribute('href') ?? '';
    return (
      <span key={key} class="preview-link">
        {children} <span class="muted">⟨{href}⟩</span>
      </span>
    );
  }
  if (tag === 'h1' || tag === 'h2' || tag === 'h3' || tag === 'h4') return <strong key={key} class="preview-heading">{children}</strong>;
  if (tag === 'th') return <td key={key}>{children}</td>;
  if (KEPT.has(tag)) {
    const Tag = tag as 'p';
    return <Tag key={key}>{children}</Tag>;
  }
  return <span key={key}>{children}</span>;
}

/**
 * A DOMParser document shares the page's CSP: parsing a style attribute or a <style> element
 * there is a (logged) violation although nothing of it is ever applied. They are cut before
 * parsing; what is kept is decided by rebuild() alone, which copies no attribute at all.
 */
const withoutStyles = (html: string) => html.replace(/<style\b[^>]*>[\s\S]*?<\/style\s*>/gi, '').replace(/\sstyle\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '');

export function SafeHtml({ html }: { html: string }) {
  const body = new DOMParser().parseFromString(withoutStyles(html), 'text/html').body;
  return <div class="preview-html">{Array.from(body.childNodes).map((node, index) => rebuild(node, index))}</div>;
}

export function StepPreview({ campaignId, stepNumber, contacts, version }: { campaignId: string; stepNumber: number; contacts: Contact[]; version: number }) {
  const [contactId, setContactId] = useState<string>('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problems, setProblems] = useState<TemplateProblem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const chosen = contactId || contacts[0]?.id || '';

  useEffect(() => {
    if (!chosen) return undefined;
    const controller = new AbortController();
    // Debounced: typing in the builder saves and bumps `version`; one request per pause.
    const timer = setTimeout(async () => {
      setLoading(true);
      try {
        const answer = await api.get<Preview>(`/campaigns/${campaignId}/steps/${stepNumber}/preview`, { contactId: chosen }, controller.signal);
        setPreview(answer);
        setProblems(answer.problems);
        setError(null);
      } catch (caught) {
        if (controller.signal.aborted) return;
        setPreview(null);
        const listed = caught instanceof ApiError ? (caught.details?.problems as TemplateProblem[] | undefined) : undefined;
        setProblems(listed ?? []);
        setError(listed ? null : caught);
      } finally {
        if (!controller.signal.aborted) setLoading(false);
      }
    }, 400);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [campaignId, stepNumber, chosen, version]);

  if (contacts.length === 0) return <p class="muted">Upload contacts to preview this step for one of them.</p>;
  return (
    <div class="preview" aria-live="polite">
      <div class="field">
        <label for={`preview-contact-${stepNumber}`}>Preview step {stepNumber} for</label>
        <select id={`preview-contact-${stepNumber}`} value={chosen} onChange={(event) => setContactId(event.currentTarget.value)}>
          {contacts.map((c) => (
            <option key={c.id} value={c.id}>
              {c.email}
              {c.firstName || c.lastName ? ` (${[c.firstName, c.lastName].filter(Boolean).join(' ')})` : ''}
            </option>
          ))}
        </select>
      </div>
      {loading && !preview && <Loading what="Rendering" />}
      <ErrorBanner error={error} />
      {problems.length > 0 && (
        <ul class="problems" aria-label={`Problems of step ${stepNumber} for this contact`}>
          {problems.map((p, index) => (
            <li key={index} class={p.severity === 'error' ? 'problem-error' : 'problem-warning'}>
              {p.severity === 'error' ? 'Error' : 'Warning'} in {p.field}: {p.message}
            </li>
          ))}
        </ul>
      )}
      {preview && (
        <div class="preview-message" data-testid={`preview-${stepNumber}`}>
          <dl class="preview-headers">
            <dt>From</dt>
            <dd>{preview.from}</dd>
            <dt>To</dt>
            <dd>{preview.to}</dd>
            <dt>Subject</dt>
            <dd class="preview-subject">{preview.subject}</dd>
          </dl>
          {preview.html ? <SafeHtml html={preview.html} /> : <div class="message-text">{preview.text}</div>}
        </div>
      )}
    </div>
  );
}
