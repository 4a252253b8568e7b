/** The shape of one row of the classification table (classification-table.ts) and its matcher. */
import type { SendOutcomeClass, SendStage } from '../transports/transport';
import type { BounceReason } from './bounce-reasons';
import type { ReadReply, ReplySeverity } from './reply-text';

export type BounceProvider = 'gmail' | 'microsoft' | 'yahoo' | 'generic';

/** Every condition given must hold; a missing one matches anything. */
export interface RuleMatch {
  /** Reply severity (2xx / 4xx / 5xx, from the reply code, else the enhanced code's class). */
  severity?: ReplySeverity;
  /** SMTP reply codes, any of. */
  codes?: readonly number[];
  /** RFC 3463 enhanced codes, any of; a `*` part matches any value ("*.7.26" is 4.7.26 and 5.7.26). */
  status?: readonly string[];
  /** Case-insensitive pattern over the reply text, lines joined and continuation prefixes removed. */
  text?: RegExp;
  /** Stages of the SMTP exchange the rule applies to; a reply of unknown stage never matches. */
  stages?: readonly SendStage[];
}

export interface ClassificationRule {
  /** `provider.what`, unique: stored with each result to say which rule decided it. */
  id: string;
  provider: BounceProvider;
  match: RuleMatch;
  /** The class for a permanent reply; classifyReply softens recipient and account classes of 4xx. */
  outcome: SendOutcomeClass;
  reason: BounceReason;
}

function statusMatches(pattern: string, status: string): boolean {
  const want = pattern.split('.');
  const got = status.split('.');
  return want.length === 3 && got.length === 3 && want.every((part, i) => part === '*' || part === got[i]);
}

export function ruleMatches(rule: ClassificationRule, reply: ReadReply): boolean {
  const { severity, codes, status, text, stages } = rule.match;
  if (severity !== undefined && severity !== reply.severity) return false;
  if (codes && (reply.code === undefined || !codes.includes(reply.code))) return false;
  if (status && (reply.enhancedCode === undefined || !status.some((pattern) => statusMatches(pattern, reply.enhancedCode as string)))) return false;
  if (stages && (reply.stage === undefined || !stages.includes(reply.stage))) return false;
  if (text && !text.test(reply.text)) return false;
  return true;
}
