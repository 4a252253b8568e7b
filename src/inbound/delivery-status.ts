/**
 * RFC 3464 message/delivery-status (and RFC 6533 message/global-delivery-status): per-message
 * fields, then one block per recipient. Read field by field rather than by blank-line groups
 * alone, since some MTAs leave out or double the blank lines: a recipient block starts at an
 * Original-Recipient or Final-Recipient that follows a blank line, or that the current block
 * already has.
 */
import { classifyReply } from '../bounces/classify-reply';
import { addressIn, dateIn, typedField } from './addresses';
import { latin1ToText, readFields } from './header-block';
import type { DeliveryAction, DeliveryRecipient, DeliveryReport } from './inbound-classification';

const ACTIONS: ReadonlySet<string> = new Set(['failed', 'delayed', 'delivered', 'relayed', 'expanded']);
const STATUS = /\b([245]\.\d{1,3}\.\d{1,3})\b/;

/** failed / delayed / delivered from an Action, else from the status class (some MTAs omit Action). */
function actionOf(action: string | undefined, status: string | undefined): DeliveryAction | undefined {
  const word = action?.trim().toLowerCase().split(/[\s(;]/)[0];
  if (word && ACTIONS.has(word)) return word as DeliveryAction;
  if (status?.startsWith('5')) return 'failed';
  if (status?.startsWith('4')) return 'delayed';
  if (status?.startsWith('2')) return 'delivered';
  return undefined;
}

/**
 * Classifies a failed or delayed recipient through the one table. A failed recipient's report
 * is final: a 4.x.x there (queue lifetime expired) is no longer transient.
 */
export function classifyRecipient(recipient: DeliveryRecipient): DeliveryRecipient {
  if (recipient.action !== 'failed' && recipient.action !== 'delayed') return recipient;
  const text = recipient.diagnosticCode?.text ?? '';
  // Exim and others report every failure as Status: 5.0.0; the diagnostic's own code says more.
  const diagnosticStatus = STATUS.exec(text)?.[1];
  const enhancedCode = recipient.status?.endsWith('.0.0') && diagnosticStatus?.[0] === recipient.status[0] ? diagnosticStatus : recipient.status;
  const classification = classifyReply({
    ...(enhancedCode ? { enhancedCode } : {}),
    text,
    ...(recipient.action === 'failed' ? { final: true } : {}),
  });
  // A delayed report whose text reads as permanent (a 5xx quoted in a warning) is still a delay.
  if (recipient.action === 'delayed' && classification.outcome !== 'transient' && classification.outcome !== 'sender_reputation' && classification.outcome !== 'sender_auth') {
    return { ...recipient, classification: { ...classification, outcome: 'transient' } };
  }
  return { ...recipient, classification };
}

type Fields = Map<string, string>;

/**
 * A multi-line SMTP reply folded into one field ("550-5.1.1 The email account … 550-5.1.1
 * double-checking …") without the repeated code prefixes, so its words read as one sentence.
 */
function withoutRepeatedPrefixes(text: string): string {
  const prefix = /^([245]\d\d)[ -]([245]\.\d{1,3}\.\d{1,3} )?/.exec(text);
  if (!prefix) return text;
  const [code, enhanced = ''] = [prefix[1] as string, (prefix[2] ?? '').trim()];
  const repeated = new RegExp(`\\s${code}[ -]${enhanced.replace(/\./g, '\\.')}\\s+`, 'g');
  return text.replace(repeated, ' ');
}

function toRecipient(fields: Fields): DeliveryRecipient | undefined {
  const recipient = addressIn(typedField(fields.get('final-recipient'))?.value) ?? addressIn(typedField(fields.get('original-recipient'))?.value);
  const rawStatus = fields.get('status');
  const status = rawStatus ? STATUS.exec(rawStatus)?.[1] : undefined;
  const diagnostic = typedField(fields.get('diagnostic-code'));
  const diagnosticStatus = diagnostic ? STATUS.exec(diagnostic.value)?.[1] : undefined;
  const action = actionOf(fields.get('action'), status ?? diagnosticStatus);
  if (!recipient || !action) return undefined;
  const originalRecipient = addressIn(typedField(fields.get('original-recipient'))?.value);
  const remoteMta = typedField(fields.get('remote-mta'))?.value;
  const lastAttemptDate = dateIn(fields.get('last-attempt-date'));
  const willRetryUntil = dateIn(fields.get('will-retry-until'));
  const finalStatus = status ?? diagnosticStatus;
  return classifyRecipient({
    recipient,
    ...(originalRecipient && originalRecipient !== recipient ? { originalRecipient } : {}),
    action,
    ...(finalStatus ? { status: finalStatus } : {}),
    ...(diagnostic ? { diagnosticCode: { type: diagnostic.type, text: withoutRepeatedPrefixes(diagnostic.value) } } : {}),
    ...(remoteMta ? { remoteMta } : {}),
    ...(lastAttemptDate ? { lastAttemptDate } : {}),
    ...(willRetryUntil ? { willRetryUntil } : {}),
  });
}

/** Reads a delivery-status part's text; undefined when it names no recipient. */
export function readDeliveryStatus(text: string): DeliveryReport | undefined {
  const perMessage: Fields = new Map();
  const blocks: Fields[] = [];
  let current: Fields | undefined;
  let currentGroup = -1;
  for (const [name, rawValue, group] of readFields(text, true)) {
    const value = latin1ToText(rawValue);
    const startsRecipient = name === 'final-recipient' || name === 'original-recipient';
    if (startsRecipient && (!current || current.has(name) || group !== currentGroup)) {
      current = new Map();
      currentGroup = group;
      blocks.push(current);
    }
    const target = current ?? perMessage;
    // First value wins: a repeated field in one block is an MTA's mistake, the first is the real one.
    if (!target.has(name)) target.set(name, value);
  }
  const recipients = blocks.map(toRecipient).filter((r): r is DeliveryRecipient => r !== undefined);
  if (recipients.length === 0) return undefined;
  const reportingMta = typedField(perMessage.get('reporting-mta'))?.value;
  const arrivalDate = dateIn(perMessage.get('arrival-date'));
  const envelopeId = perMessage.get('original-envelope-id')?.trim();
  return {
    source: 'delivery-status',
    ...(reportingMta ? { reportingMta } : {}),
    ...(arrivalDate ? { arrivalDate } : {}),
    ...(envelopeId ? { envelopeId } : {}),
    recipients,
  };
}

/** The sender Postfix names in its per-message fields (X-Postfix-Sender: rfc822; bob@…). */
export function reportedSender(text: string): string | undefined {
  for (const [name, value] of readFields(text, true)) {
    if (name === 'x-postfix-sender' || name === 'x-original-sender') return addressIn(typedField(value)?.value);
    if (name === 'final-recipient') return undefined;
  }
  return undefined;
}
