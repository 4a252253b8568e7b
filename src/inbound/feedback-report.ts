/**
 * Complaints: ARF (RFC 5965 message/feedback-report, also what Yahoo's CFL and AOL send) and
 * Microsoft's JMRP, which is ARF-shaped when the sender registered for it and otherwise a plain
 * message from Outlook.com with the original attached, its recipient in X-HmXmrOriginalRecipient.
 */
import { addressIn, dateIn } from './addresses';
import { latin1ToText, readFields } from './header-block';
import type { ComplaintReport } from './inbound-classification';

/** Feedback types that are a recipient's complaint; the others (not-spam, auth-failure, dkim) are not. */
export const COMPLAINT_TYPES: ReadonlySet<string> = new Set(['abuse', 'fraud', 'virus', 'other']);

export function readFeedbackReport(text: string): ComplaintReport {
  const fields = new Map<string, string>();
  for (const [name, value] of readFields(text, true)) if (!fields.has(name)) fields.set(name, latin1ToText(value));
  const feedbackType = (fields.get('feedback-type') ?? 'abuse').trim().toLowerCase();
  const userAgent = fields.get('user-agent');
  const originalRcptTo = addressIn(fields.get('original-rcpt-to') ?? fields.get('removal-recipient'));
  const originalMailFrom = addressIn(fields.get('original-mail-from'));
  const arrivalDate = dateIn(fields.get('arrival-date') ?? fields.get('received-date'));
  const sourceIp = fields.get('source-ip')?.trim();
  const reportedDomain = fields.get('reported-domain')?.trim().toLowerCase();
  return {
    feedbackType,
    ...(userAgent ? { userAgent } : {}),
    ...(originalRcptTo ? { originalRcptTo } : {}),
    ...(originalMailFrom ? { originalMailFrom } : {}),
    ...(arrivalDate ? { arrivalDate } : {}),
    ...(sourceIp ? { sourceIp } : {}),
    ...(reportedDomain ? { reportedDomain } : {}),
  };
}
