/**
 * classifyReply: one receiving server's answer → outcome class, reason and the table rule that
 * decided. Works with whatever the caller has: a full SMTP reply with its stage, a DSN's Status
 * and Diagnostic-Code, or an ESP event's status or description alone.
 */
import type { SendOutcomeClass, SendStage } from '../transports/transport';
import type { BounceReason } from './bounce-reasons';
import { ruleMatches, type ClassificationRule } from './classification-rule';
import { CLASSIFICATION_TABLE } from './classification-table';
import { readReply, type ReadReply, type ReplyInput } from './reply-text';

export interface ClassifyReplyInput extends ReplyInput {
  /**
   * The report is final: nothing will retry it any more (a DSN with Action: failed, an ESP's
   * permanent bounce). A reply that would be transient then counts as recipient_soft, e.g. a
   * message that expired in the relay's queue after greylisting.
   */
  final?: boolean;
}

export interface ReplyClassification {
  outcome: SendOutcomeClass;
  reason: BounceReason;
  /** Id of the table rule that matched. */
  rule: string;
  /** The reply code, as given or read from the text. */
  code?: number;
  /** The enhanced status code, as given or read from the text. */
  enhancedCode?: string;
}

// A 4xx asks for another attempt: whatever it says about the recipient or our login, retry.
const SOFTENED_WHEN_TEMPORARY: ReadonlySet<SendOutcomeClass> = new Set(['recipient_hard', 'recipient_soft', 'auth']);
const RECIPIENT_CLASSES: ReadonlySet<SendOutcomeClass> = new Set(['recipient_hard', 'recipient_soft']);
// Answers given before any recipient was named can only be about us, whatever their words.
const BEFORE_RECIPIENT: ReadonlySet<SendStage> = new Set(['connect', 'auth', 'mail']);

function applies(rule: ClassificationRule, reply: ReadReply): boolean {
  if (reply.stage !== undefined && BEFORE_RECIPIENT.has(reply.stage) && RECIPIENT_CLASSES.has(rule.outcome)) return false;
  return ruleMatches(rule, reply);
}

export function classifyReply(input: ClassifyReplyInput): ReplyClassification {
  const reply = readReply(input);
  const rule = CLASSIFICATION_TABLE.find((candidate) => applies(candidate, reply));
  // The table ends with one rule per severity, so this cannot happen; fail loudly if it is edited wrong.
  if (!rule) throw new Error(`classification table matched nothing for severity ${reply.severity}`);

  let outcome: SendOutcomeClass = reply.severity === 'temporary' && SOFTENED_WHEN_TEMPORARY.has(rule.outcome) ? 'transient' : rule.outcome;
  if (input.final && outcome === 'transient') outcome = 'recipient_soft';
  return {
    outcome,
    reason: rule.reason,
    rule: rule.id,
    ...(reply.code !== undefined ? { code: reply.code } : {}),
    ...(reply.enhancedCode !== undefined ? { enhancedCode: reply.enhancedCode } : {}),
  };
}
