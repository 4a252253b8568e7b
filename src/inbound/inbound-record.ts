/**
 * The one path both entry points take (ingest.ts for raw messages, feedback-event.ts for ESP
 * events): in one transaction, store the message unless its (source, account, key) is already
 * stored, match it to our queue row, and apply its class's effects. A duplicate changes nothing.
 */
import { inTransaction, type DbOrTx } from '../db/connection';
import type { InboundKind } from '../db/database';
import type { DeliveryRecipient, InboundClassification } from './inbound-classification';
import { applyEffects, type EffectTarget } from './inbound-effects';
import { matchInbound, type InboundMatch } from './inbound-match';
import type { AccountRef } from './inbound-match.repository';
import { findInboundBySourceKey, insertInboundMessage, setInboundEffects } from './inbound-message.repository';
import type { InboundDeps } from './inbound-settings';

export interface InboundResult {
  id: number;
  duplicate: boolean;
  kind: InboundKind;
}

export interface InboundRecord {
  account: AccountRef | undefined;
  /** ESP events: the client the webhook belongs to, when it names no mailbox. */
  clientId?: string;
  /** ESP events: the reported recipient is the one sent to (inbound-match.ts). */
  recipientIsEnvelope?: boolean;
  source: string;
  sourceKey: string;
  receivedAt: Date;
  classification: InboundClassification;
  from: string | null;
  to: string | null;
  headers: Record<string, string>;
  /** The first RAW_LIMIT_BYTES of the source, and its whole size. */
  raw: Buffer | null;
  rawSize: number;
}

export const RAW_LIMIT_BYTES = 64 * 1024;

/** A report's recipient the effects are about: the failed one, else delayed, else the first. */
export function reportedRecipient(classification: InboundClassification, email?: string): DeliveryRecipient | undefined {
  const recipients = classification.report?.recipients ?? [];
  if (email) {
    const exact = recipients.find((r) => r.recipient === email.toLowerCase() || r.originalRecipient === email.toLowerCase());
    if (exact) return exact;
  }
  return recipients.find((r) => r.action === 'failed') ?? recipients.find((r) => r.action === 'delayed') ?? recipients[0];
}

export interface ClassDecision {
  kind: InboundKind;
  subKind: string | null;
  reason: string | null;
  code: string | null;
  diagnostic: string;
}

/** Kind, sub-kind and reason as stored, from the classification and the row it matched. */
export function decideClass(classification: InboundClassification, match: InboundMatch | undefined): ClassDecision {
  const recipient = reportedRecipient(classification, match?.row.to_email);
  const code = recipient?.classification?.enhancedCode ?? recipient?.status ?? null;
  const diagnostic = recipient?.diagnosticCode?.text ?? '';
  switch (classification.kind) {
    case 'bounce':
    case 'delay':
      return { kind: classification.kind, subKind: recipient?.classification?.outcome ?? null, reason: recipient?.classification?.reason ?? null, code, diagnostic };
    case 'complaint':
      return { kind: 'complaint', subKind: classification.complaint?.feedbackType ?? null, reason: null, code: null, diagnostic: '' };
    case 'auto_reply':
      return { kind: 'auto_reply', subKind: classification.autoReplyKind ?? null, reason: null, code: null, diagnostic: '' };
    case 'reply':
      // A reply we could not tie to a contact's thread is a person's to look at, never guessed.
      return match ? { kind: 'reply', subKind: null, reason: null, code: null, diagnostic: '' } : { kind: 'unmatched', subKind: null, reason: 'reply-not-matched', code: null, diagnostic: '' };
    default:
      return { kind: classification.kind, subKind: null, reason: null, code: null, diagnostic: '' };
  }
}

export function effectTargetOf(id: number, decision: ClassDecision, match: InboundMatch, fields: { from: string | null; subject: string; text: string | null; messageId: string | null; returnDate?: string }): EffectTarget {
  return {
    inboundId: id,
    kind: decision.kind,
    subKind: decision.subKind,
    row: match.row,
    from: fields.from,
    subject: fields.subject,
    text: fields.text,
    headerMessageId: fields.messageId,
    code: decision.code,
    diagnostic: decision.diagnostic,
    ...(fields.returnDate ? { returnDate: fields.returnDate } : {}),
  };
}

/** Classification as stored: JSON, without the text (its own column). */
function storedClassification(classification: InboundClassification): Record<string, unknown> {
  const { text: _text, ...rest } = classification;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

export async function recordInbound(db: DbOrTx, record: InboundRecord, deps: InboundDeps): Promise<InboundResult> {
  const accountKey = record.account?.id ?? '';
  const seen = await findInboundBySourceKey(db, record.source, accountKey, record.sourceKey);
  if (seen) return { id: seen.id, duplicate: true, kind: seen.kind };
  const now = deps.now?.() ?? new Date();
  const { classification } = record;

  return inTransaction(db, async (tx) => {
    const recipient = reportedRecipient(classification);
    const match = await matchInbound(tx, {
      kind: classification.kind,
      keys: classification.match,
      ...(recipient ? { recipient: recipient.recipient } : {}),
      ...(record.account ? { account: record.account } : {}),
      ...(record.clientId ? { clientId: record.clientId } : {}),
      ...(record.recipientIsEnvelope ? { recipientIsEnvelope: true } : {}),
      receivedAt: record.receivedAt,
    });
    const decision = decideClass(classification, match);
    const id = await insertInboundMessage(tx, {
      client_id: record.account?.client_id ?? record.clientId ?? match?.row.client_id ?? null,
      account_id: record.account?.id ?? null,
      account_key: accountKey,
      source: record.source,
      source_key: record.sourceKey,
      received_at: record.receivedAt,
      from_address: record.from,
      to_address: record.to,
      subject: classification.subject ?? '',
      message_id: classification.messageId ?? null,
      headers: JSON.stringify(record.headers),
      kind: decision.kind,
      sub_kind: decision.subKind,
      reason: decision.reason,
      evidence: classification.evidence,
      classification: JSON.stringify(storedClassification(classification)),
      queue_id: match?.row.id ?? null,
      campaign_id: match?.row.campaign_id ?? null,
      contact_id: match?.row.contact_id ?? null,
      step_number: match?.row.step_number ?? null,
      match_method: match?.method ?? null,
      text: classification.text ?? null,
      raw: record.raw,
      raw_size: record.rawSize,
    });
    if (id === undefined) {
      // Another reader stored it meanwhile (its insert held ours until it committed).
      const other = await findInboundBySourceKey(tx, record.source, accountKey, record.sourceKey);
      if (!other) throw new Error(`inbound message ${record.source}/${record.sourceKey} neither inserted nor found`);
      return { id: other.id, duplicate: true, kind: other.kind };
    }
    if (match) {
      const fields = { from: record.from, subject: classification.subject ?? '', text: classification.text ?? null, messageId: classification.messageId ?? null, ...(classification.returnDate ? { returnDate: classification.returnDate } : {}) };
      const effects = await applyEffects(tx, effectTargetOf(id, decision, match, fields), deps.settings, now);
      if (effects.length > 0) await setInboundEffects(tx, id, effects);
    }
    return { id, duplicate: false, kind: decision.kind };
  });
}
