/**
 * classifyInbound: one raw inbound message (from IMAP, the Gmail API, later webhooks) → what it
 * is and the keys that find the message of ours it is about. Pure: no database, no network.
 *
 * Decided in this order, first match wins:
 *   1. complaint   an ARF message/feedback-report part (Yahoo CFL, AOL, Microsoft JMRP in ARF)
 *                  of a complaint type, or Microsoft's older JMRP (X-HmXmrOriginalRecipient in
 *                  the attached original);
 *   2. report      an RFC 3464 delivery-status part with at least one recipient: bounce when a
 *                  recipient failed, else delay when one is delayed, else delivered;
 *   3. bounce      a non-standard bounce (from MAILER-DAEMON / postmaster, X-Failed-Recipients,
 *                  or a bounce subject from a null sender): recipients read from its words;
 *   4. auto_reply  an automatic answer (RFC 3834 and vendor headers, subject words, challenges);
 *   5. reply       a person's message that answers one (In-Reply-To / References), not a list's;
 *   6. unmatched   everything else: bounces we could not read, read receipts and other reports,
 *                  mailing lists, mail outside our threads. A person decides.
 * Each failed or delayed recipient is classified through the one table (src/bounces).
 */
import { addressIn, dateIn, messageIdsIn } from './addresses';
import { automaticEvidence, isMailingList, isOutOfOffice } from './auto-reply';
import { readTextBounce } from './bounce-text';
import { readDeliveryStatus, reportedSender } from './delivery-status';
import { COMPLAINT_TYPES, readFeedbackReport } from './feedback-report';
import { headerText, parseHeaderBlock, splitHeaders, type HeaderBlock } from './header-block';
import type { ClassifyInboundContext, ComplaintReport, DeliveryReport, InboundClassification, InboundKind, MatchKeys } from './inbound-classification';
import { allParts, decodedBody, partText, parseMime, type MimePart } from './mime';
import { findReturnDate } from './return-date';
import { inlineHeaderBlocks, returnedHeaders, type ReturnedHeaders } from './returned-message';
import { replyText } from './reply-text';

const DELIVERY_STATUS_TYPES: ReadonlySet<string> = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED_MESSAGE_TYPES: ReadonlySet<string> = new Set(['message/rfc822', 'message/global']);
const RETURNED_HEADER_TYPES: ReadonlySet<string> = new Set(['text/rfc822-headers', 'message/rfc822-headers', 'message/global-headers']);
const DAEMON_SENDER = /^(?:mailer-daemon|mail-daemon|mailerdaemon|postmaster)@/i;
const DAEMON_NAME = /\bmail delivery (?:system|subsystem)\b|\bmailer-daemon\b/i;
const BOUNCE_SUBJECT = /^(?:undeliver(?:ed|able)|delivery (?:status notification|failure|failed|has failed|incomplete|delayed|notification)|mail delivery (?:failed|failure|system)|returned mail|failure notice|non[- ]?deliver|message (?:not delivered|delivery failure|undeliverable)|warning: message \S+ delayed|nondeliverable|unzustellbar|non remis|no se puede entregar|mancata consegna|onbestelbaar)/i;

interface Parsed {
  root: MimePart;
  parts: MimePart[];
  subject: string;
  from?: string;
  to?: string;
}

function isAttachment(part: MimePart): boolean {
  return /^\s*attachment/i.test(part.headers.get('content-disposition')?.[0] ?? '');
}

/** The first inline part of a type, outside any returned message. */
function firstText(parsed: Parsed, type: 'text/plain' | 'text/html'): string | undefined {
  const part = parsed.parts.find((candidate) => candidate.contentType === type && !isAttachment(candidate));
  return part ? partText(part) : undefined;
}

/** The text a report's notice is written in: its text/plain parts, else its HTML as text. */
function noticeText(parsed: Parsed): string {
  const plain = parsed.parts.filter((part) => part.contentType === 'text/plain' && !isAttachment(part)).map(partText);
  if (plain.length > 0) return plain.join('\n\n');
  const html = firstText(parsed, 'text/html');
  if (html === undefined) return '';
  // Loaded on first use: only HTML-only notices need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { convert } = require('html-to-text') as typeof import('html-to-text');
  return convert(html, { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }, { selector: 'a', options: { ignoreHref: true } }] });
}

/** The header blocks of every returned original: attached, headers-only, or quoted in the notice. */
function returnedBlocks(parsed: Parsed, notice: string): HeaderBlock[] {
  const blocks: HeaderBlock[] = [];
  for (const part of parsed.parts) {
    if (part === parsed.root) continue;
    if (RETURNED_MESSAGE_TYPES.has(part.contentType) || RETURNED_HEADER_TYPES.has(part.contentType)) {
      blocks.push(parseHeaderBlock(splitHeaders(decodedBody(part).toString('latin1')).headers));
    }
  }
  return blocks.length > 0 ? blocks : inlineHeaderBlocks(notice);
}

function mergeReturned(blocks: HeaderBlock[]): { returned: ReturnedHeaders; messageIds: string[] } {
  const returned: ReturnedHeaders = {};
  const messageIds: string[] = [];
  for (const block of blocks) {
    const one = returnedHeaders(block);
    if (one.messageId && !messageIds.includes(one.messageId)) messageIds.push(one.messageId);
    for (const key of Object.keys(one) as Array<keyof ReturnedHeaders>) {
      if (returned[key] === undefined) (returned as Record<string, unknown>)[key] = one[key];
    }
  }
  return { returned, messageIds };
}

function base(parsed: Parsed, kind: InboundKind, evidence: string, match: MatchKeys): InboundClassification {
  const headers = parsed.root.headers;
  const messageId = messageIdsIn(headerText(headers, 'message-id'))[0];
  const date = dateIn(headerText(headers, 'date'));
  return {
    kind,
    evidence,
    ...(messageId ? { messageId } : {}),
    ...(parsed.subject ? { subject: parsed.subject } : {}),
    ...(date ? { date } : {}),
    match: { ...match, ...(parsed.from ? { from: parsed.from } : {}) },
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function complaintOf(parsed: Parsed): InboundClassification | undefined {
  const reportPart = parsed.parts.find((part) => part.contentType === 'message/feedback-report');
  const { returned, messageIds } = mergeReturned(returnedBlocks(parsed, ''));
  let complaint: ComplaintReport;
  let evidence: string;
  if (reportPart) {
    complaint = readFeedbackReport(partText(reportPart));
    evidence = 'arf';
  } else if (returned.hotmailOriginalRecipient) {
    complaint = { feedbackType: 'abuse', userAgent: 'Microsoft JMRP' };
    evidence = 'jmrp';
  } else {
    return undefined;
  }
  const match = withoutUndefined<MatchKeys>({
    messageIds,
    feedbackId: returned.feedbackId,
    originalRecipient: complaint.originalRcptTo ?? returned.hotmailOriginalRecipient ?? returned.to,
    originalSender: complaint.originalMailFrom ?? returned.from,
    originalDate: returned.date ?? complaint.arrivalDate,
  });
  // A not-spam, auth-failure or DKIM report is feedback about us, not a recipient's complaint.
  const kind: InboundKind = COMPLAINT_TYPES.has(complaint.feedbackType) ? 'complaint' : 'unmatched';
  return { ...base(parsed, kind, evidence, match), complaint };
}

function looksLikeBounce(parsed: Parsed): boolean {
  const headers = parsed.root.headers;
  if (headers.has('x-failed-recipients')) return true;
  if (parsed.from && DAEMON_SENDER.test(parsed.from)) return true;
  if (DAEMON_NAME.test(headerText(headers, 'from') ?? '')) return true;
  if (!BOUNCE_SUBJECT.test(parsed.subject.trim())) return false;
  const returnPath = headers.get('return-path')?.[0]?.trim();
  return returnPath === '<>' || headers.has('auto-submitted') || parsed.root.contentType === 'multipart/report';
}

function reportKind(report: DeliveryReport): InboundKind {
  if (report.recipients.some((r) => r.action === 'failed')) return 'bounce';
  if (report.recipients.some((r) => r.action === 'delayed')) return 'delay';
  return 'delivered';
}

function deliveryReportOf(parsed: Parsed): InboundClassification | undefined {
  const statusPart = parsed.parts.find((part) => DELIVERY_STATUS_TYPES.has(part.contentType));
  const isReport = statusPart !== undefined || looksLikeBounce(parsed);
  if (!isReport) return undefined;
  const notice = noticeText(parsed);
  const { returned, messageIds } = mergeReturned(returnedBlocks(parsed, notice));
  // Without a delivery-status part, some MTAs (and forwarded reports) still write its fields in
  // the notice's text: read them from the first one on.
  const inlineStart = statusPart ? -1 : notice.search(/^(?:Reporting-MTA|Final-Recipient)[ \t]*:/im);
  const statusText = statusPart ? partText(statusPart) : inlineStart >= 0 ? notice.slice(inlineStart) : '';
  let report = statusText ? readDeliveryStatus(statusText) : undefined;
  let evidence = 'rfc3464';
  if (!report) {
    const ignore = new Set([parsed.to, parsed.from, returned.from].filter((a): a is string => a !== undefined));
    const failedRecipients = (parsed.root.headers.get('x-failed-recipients') ?? []).flatMap((value) => value.split(',').map((a) => addressIn(a)).filter((a): a is string => a !== undefined));
    const recipients = readTextBounce({ text: notice, subject: parsed.subject, failedRecipients, ignore });
    if (recipients.length > 0) report = { source: 'text', recipients };
    evidence = 'text';
  }
  const first = report?.recipients.find((r) => r.action === 'failed') ?? report?.recipients[0];
  // No copy came back: Gmail, Microsoft 365 and Exim name our message in the report's own
  // In-Reply-To / References instead.
  const threadIds = [...messageIdsIn(headerText(parsed.root.headers, 'in-reply-to')), ...messageIdsIn(headerText(parsed.root.headers, 'references'))];
  const match = withoutUndefined<MatchKeys>({
    messageIds: messageIds.length > 0 ? messageIds : [...new Set(threadIds)],
    feedbackId: returned.feedbackId,
    originalRecipient: first?.originalRecipient ?? first?.recipient ?? returned.to,
    originalSender: returned.from ?? (statusText ? reportedSender(statusText) : undefined) ?? parsed.to,
    originalDate: returned.date ?? report?.arrivalDate,
  });
  if (!report) {
    // A daemon's message that neither has report parts nor says it is a bounce ("your message is
    // held for review") is an automatic answer, read as one below.
    const saysBounce = statusPart !== undefined || parsed.root.headers.has('x-failed-recipients') || BOUNCE_SUBJECT.test(parsed.subject.trim());
    if (!saysBounce) return undefined;
    // A bounce we could not read is kept for a person: never guess which recipient failed.
    return base(parsed, 'unmatched', 'unreadable-report', match);
  }
  return { ...base(parsed, reportKind(report), evidence, match), report };
}

function conversationOf(parsed: Parsed, context: ClassifyInboundContext): InboundClassification {
  const headers = parsed.root.headers;
  const inReplyTo = messageIdsIn(headerText(headers, 'in-reply-to'))[0];
  const references = messageIdsIn(headerText(headers, 'references'));
  const ids = [...new Set([...(inReplyTo ? [inReplyTo] : []), ...references.slice().reverse()])];
  const ours = context.isOurMessageId ? ids.filter(context.isOurMessageId) : ids;
  const match = withoutUndefined<MatchKeys>({ messageIds: ours, inReplyTo, references: references.length > 0 ? references : undefined });

  // Read receipts (disposition-notification) and other reports: automatic, but nobody wrote them.
  if (parsed.root.contentType === 'multipart/report') return base(parsed, 'unmatched', 'other-report', match);
  const automatic = automaticEvidence(headers, parsed.subject, parsed.from);
  const plain = firstText(parsed, 'text/plain');
  const html = plain === undefined ? firstText(parsed, 'text/html') : undefined;
  if (automatic) {
    const text = replyText(plain, html);
    const outOfOffice = isOutOfOffice(parsed.subject, text);
    const reference = context.receivedAt ?? dateIn(headerText(headers, 'date')) ?? new Date();
    const returnDate = outOfOffice ? findReturnDate(`${parsed.subject}\n${text}`, reference) : undefined;
    return {
      ...base(parsed, 'auto_reply', automatic, match),
      autoReplyKind: outOfOffice ? 'out_of_office' : 'other',
      ...(returnDate ? { returnDate } : {}),
      text,
    };
  }
  if (isMailingList(headers)) return base(parsed, 'unmatched', 'mailing-list', match);
  if (ours.length === 0) return base(parsed, 'unmatched', ids.length > 0 ? 'not-our-thread' : 'no-thread', match);
  return { ...base(parsed, 'reply', 'in-reply-to', match), text: replyText(plain, html) };
}

export function classifyInbound(raw: Buffer | string, context: ClassifyInboundContext = {}): InboundClassification {
  try {
    return classify(raw, context);
  } catch (error) {
    // Inbound mail is hostile input: a message this module cannot read goes to a person, and the
    // reader goes on with the next one.
    return { kind: 'unmatched', evidence: `unreadable: ${(error as Error).message}`, match: { messageIds: [] } };
  }
}

function classify(raw: Buffer | string, context: ClassifyInboundContext): InboundClassification {
  const root = parseMime(raw);
  const headers = root.headers;
  const parsed: Parsed = {
    root,
    parts: allParts(root),
    subject: headerText(headers, 'subject')?.replace(/\s+/g, ' ').trim() ?? '',
    ...withoutUndefined({ from: addressIn(headerText(headers, 'from')), to: addressIn(headerText(headers, 'to')) }),
  };
  return complaintOf(parsed) ?? deliveryReportOf(parsed) ?? conversationOf(parsed, context);
}
