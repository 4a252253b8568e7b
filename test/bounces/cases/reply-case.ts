import type { BounceReason } from '../../../src/bounces/bounce-reasons';
import type { ClassifyReplyInput } from '../../../src/bounces/classify-reply';
import type { SendOutcomeClass } from '../../../src/transports/transport';

/** One real-world answer and what the table must make of it. */
export interface ReplyCase {
  /** Who said it and what it means, in a few words (part of the test's name). */
  name: string;
  input: ClassifyReplyInput;
  outcome: SendOutcomeClass;
  reason: BounceReason;
  /** The table rule that must decide it: the first match. */
  rule: string;
}

/** Joins the lines of a multi-line SMTP reply the way nodemailer reports it. */
export const lines = (...parts: string[]): string => parts.join('\n');
