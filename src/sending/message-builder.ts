/**
 * Builds the OutgoingMessage for one queue row from its database rows: personalised subject,
 * HTML and text parts, unsubscribe link and postal address, tracking, and the headers every
 * message carries (List-Unsubscribe + One-Click, Feedback-ID, threading).
 *
 * Pure and deterministic for a given input: a retry of the same row renders the same bytes
 * (spintax is seeded from the Message-ID). Contact data is hostile input: it is HTML-escaped
 * in the HTML part and every header value is stripped of CR/LF, so "x\r\nBcc: …" can never
 * become a header.
 */
import type { Selectable } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { CampaignsTable, ClientsTable, ContactsTable, EmailQueueTable, SenderAccountsTable, SequenceStepsTable } from '../db/database';
import { upsertLinks } from '../tracking/link.repository';
import type { TrackingSigner } from '../tracking/tracking-token';
import type { OutgoingMessage } from '../transports/transport';
import { escapeHtml, renderTemplate, type ContactFields } from './template';
import { templateErrors } from './template-problems';

export interface BuildMessageInput {
  client: Pick<Selectable<ClientsTable>, 'id' | 'name' | 'postal_address'>;
  account: Pick<Selectable<SenderAccountsTable>, 'id' | 'email' | 'display_name'>;
  campaign: Pick<Selectable<CampaignsTable>, 'id' | 'track_opens' | 'track_clicks'>;
  step: Pick<Selectable<SequenceStepsTable>, 'id' | 'step_number' | 'subject' | 'body_html' | 'body_text'>;
  contact: Pick<Selectable<ContactsTable>, 'email' | 'first_name' | 'last_name' | 'company' | 'custom_fields'>;
  queue: Pick<Selectable<EmailQueueTable>, 'id' | 'message_id' | 'to_email'>;
  signer: TrackingSigner;
  /** url → link id from upsertLinks; rendered links missing here are left untracked. */
  linkIds?: ReadonlyMap<string, number>;
  /** Follow-ups: the thread this step answers (Message-IDs with angle brackets). */
  thread?: { inReplyTo: string; references?: string[]; subject?: string };
  /** Adds `<mailto:…>` to List-Unsubscribe when set (e.g. an unsubscribe mailbox). */
  unsubscribeMailto?: string;
  /** Last field of Feedback-ID: stable id of this platform as a sender. */
  feedbackSenderId?: string;
}

export class MessageBuildError extends Error {
  override name = 'MessageBuildError';
}

/** Header values: no CR/LF/NUL or other control characters, whitespace collapsed. */
export function headerSafe(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

const SINGLE_ADDRESS = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+\.[^\s@<>,;:"()[\]\\]+$/;
const MESSAGE_ID = /^<[^\s<>@]+@[^\s<>@]+>$/;
const TRACKABLE_HREF = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"'\s]+)\2/gi;

const decodeHrefEntities = (url: string) => url.replace(/&amp;/gi, '&');

/** Links in rendered HTML that click tracking would rewrite (decoded, de-duplicated). */
export function extractLinks(html: string): string[] {
  return [...new Set([...html.matchAll(TRACKABLE_HREF)].map((m) => decodeHrefEntities(m[3] ?? '')))];
}

function contactFields(contact: BuildMessageInput['contact']): ContactFields {
  return { email: contact.email, first_name: contact.first_name, last_name: contact.last_name, company: contact.company, custom_fields: contact.custom_fields ?? {} };
}

/** Personalised subject and bodies, before footer and tracking. */
export function renderParts(input: Pick<BuildMessageInput, 'step' | 'contact' | 'queue' | 'thread'>): { subject: string; html: string; text: string } {
  // Steps are checked when saved; one saved before that must still never go out with a
  // literal "{Hi|Hello": its rows fail with the problem instead.
  for (const [name, template] of [['subject', input.step.subject], ['bodyHtml', input.step.body_html], ['bodyText', input.step.body_text]] as const) {
    const [error] = templateErrors(template);
    if (error) throw new MessageBuildError(`template ${name}: ${error.message}`);
  }
  const fields = contactFields(input.contact);
  const seed = input.queue.message_id;
  let subject = headerSafe(renderTemplate(input.step.subject, fields, { seed }));
  if (!subject && input.thread?.subject) subject = headerSafe(/^re:/i.test(input.thread.subject) ? input.thread.subject : `Re: ${input.thread.subject}`);

  const htmlTemplate = input.step.body_html.trim();
  const textTemplate = input.step.body_text.trim();
  let html = htmlTemplate ? renderTemplate(input.step.body_html, fields, { seed, html: true }) : '';
  let text = textTemplate ? renderTemplate(input.step.body_text, fields, { seed }) : '';
  if (!html && text) html = `<div>${escapeHtml(text).replace(/\r?\n/g, '<br>\n')}</div>`;
  if (!text && html) {
    // Loaded on first use: its parser and entity tables cost every worker start CPU and memory,
    // and steps with their own text part never need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { convert: htmlToText } = require('html-to-text') as typeof import('html-to-text');
    text = htmlToText(html, { wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] });
  }
  return { subject, html, text };
}

function insertBeforeBodyEnd(html: string, addition: string): string {
  const index = html.search(/<\/body\s*>/i);
  return index >= 0 ? `${html.slice(0, index)}${addition}${html.slice(index)}` : `${html}${addition}`;
}

export function buildMessage(input: BuildMessageInput): OutgoingMessage {
  const to = headerSafe(input.queue.to_email);
  if (!SINGLE_ADDRESS.test(to)) throw new MessageBuildError('recipient is not a single plain email address');
  const messageId = headerSafe(input.queue.message_id);
  if (!MESSAGE_ID.test(messageId)) throw new MessageBuildError('Message-ID must look like <id@domain>');
  const fromAddress = headerSafe(input.account.email);
  if (!SINGLE_ADDRESS.test(fromAddress)) throw new MessageBuildError('sender is not a single plain email address');

  const parts = renderParts(input);
  const queueId = input.queue.id;
  const unsubscribeUrl = input.signer.unsubscribeUrl(queueId);

  let html = parts.html;
  if (input.campaign.track_clicks && input.linkIds?.size) {
    const linkIds = input.linkIds;
    html = html.replace(TRACKABLE_HREF, (match, prefix: string, quote: string, url: string) => {
      const linkId = linkIds.get(decodeHrefEntities(url));
      return linkId === undefined ? match : `${prefix}${quote}${escapeHtml(input.signer.clickUrl(queueId, linkId))}${quote}`;
    });
  }

  // Visible unsubscribe link and postal address (CAN-SPAM, Gmail/Yahoo bulk sender rules).
  const postal = input.client.postal_address.trim();
  const postalHtml = postal ? `${escapeHtml(postal).replace(/\r?\n/g, '<br>')}<br>` : '';
  let footerHtml = `<div style="margin-top:24px;font-size:12px;color:#777">${postalHtml}<a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe</a></div>`;
  if (input.campaign.track_opens) footerHtml += `<img src="${escapeHtml(input.signer.openUrl(queueId))}" width="1" height="1" alt="" style="display:none">`;
  html = insertBeforeBodyEnd(html, footerHtml);
  const text = `${parts.text.trimEnd()}\n\n--\n${postal ? `${postal}\n` : ''}Unsubscribe: ${unsubscribeUrl}\n`;

  const mailto = input.unsubscribeMailto ? headerSafe(input.unsubscribeMailto) : '';
  const listUnsubscribe = `<${unsubscribeUrl}>${mailto && SINGLE_ADDRESS.test(mailto) ? `, <mailto:${mailto}?subject=unsubscribe>` : ''}`;
  const headers: Record<string, string> = {
    'List-Unsubscribe': headerSafe(listUnsubscribe),
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    'Feedback-ID': headerSafe([input.campaign.id, input.client.id, input.account.id, input.feedbackSenderId ?? 'outreach'].map((p) => p.replace(/:/g, '')).join(':')),
  };

  const message: OutgoingMessage = {
    from: { address: fromAddress, name: headerSafe(input.account.display_name) },
    to,
    subject: parts.subject,
    html,
    text,
    messageId,
    headers,
  };
  if (input.thread) {
    const inReplyTo = headerSafe(input.thread.inReplyTo);
    if (MESSAGE_ID.test(inReplyTo)) {
      message.inReplyTo = inReplyTo;
      const references = (input.thread.references?.length ? input.thread.references : [inReplyTo]).map(headerSafe).filter((id) => MESSAGE_ID.test(id));
      message.references = references.includes(inReplyTo) ? references : [...references, inReplyTo];
    }
  }
  return message;
}

/**
 * buildMessage with click tracking wired: stores the rendered links of this step (once per
 * step and URL) and rewrites them. For callers that hold a database handle (the worker).
 */
export async function prepareMessage(db: DbOrTx, input: Omit<BuildMessageInput, 'linkIds'> & { client: BuildMessageInput['client'] }): Promise<OutgoingMessage> {
  if (!input.campaign.track_clicks) return buildMessage(input);
  const urls = extractLinks(renderParts(input).html);
  const linkIds = await upsertLinks(db, { clientId: input.client.id, campaignId: input.campaign.id, stepId: input.step.id, urls });
  return buildMessage({ ...input, linkIds });
}
