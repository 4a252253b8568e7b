/**
 * The one classification table: every path that classifies a send result reads it (SMTP answers
 * now through src/transports/classify.ts; DSNs and ESP events later). Model: the Sisimai library
 * (hard bounce only for user unknown, host unknown, moved, not accepting; everything else soft;
 * sender-side failures told apart from recipient ones).
 *
 * Ordered, first match wins:
 *   1. success (2xx / 2.x.x)                 accepted
 *   2. Gmail, Microsoft, Yahoo rules          their own codes and texts, which generic rules
 *                                             would misread (Gmail 4.7.23 is PTR, Microsoft
 *                                             reports its submission quota as 5.2.2, …)
 *   3. generic sender-side rules              domain authentication, reputation, quotas, our
 *                                             account, refusals at connect / MAIL FROM
 *   4. generic recipient rules                hard, then soft, then the two catch-alls
 *                                             (any 4xx transient, any 5xx recipient_soft)
 *
 * A rule that blames the recipient (recipient_hard / recipient_soft) never applies to an answer
 * at connect, AUTH or MAIL FROM: no recipient had been named yet, so whatever the words say, the
 * refusal is about us (the generic connect / MAIL FROM rules take those).
 *
 * A rule's outcome is for a permanent reply. For a temporary (4xx) reply, classifyReply softens
 * recipient_hard, recipient_soft and auth to transient (the server asked us to try again), but
 * keeps sender_reputation and sender_auth: Gmail's 421 4.7.28 and 421 4.7.26 defer every message
 * until the sender changes, and retrying them only digs deeper.
 *
 * Provider rules are not gated on the remote host: we usually talk to a relay, and the
 * providers' wording is distinctive enough on its own. test/bounces holds real replies for every
 * rule, and checks that each rule is the first match for at least one of them.
 */
import type { ClassificationRule } from './classification-rule';
import { GENERIC_RECIPIENT_RULES } from './generic-recipient.rules';
import { GENERIC_SENDER_RULES } from './generic-sender.rules';
import { GMAIL_RULES } from './gmail.rules';
import { MICROSOFT_RULES } from './microsoft.rules';
import { YAHOO_RULES } from './yahoo.rules';

const DELIVERED: ClassificationRule = { id: 'generic.delivered', provider: 'generic', match: { severity: 'success' }, outcome: 'accepted', reason: 'delivered' };

// concat marked pure, not array spreads: esbuild cannot prove a spread free of side effects, so
// the Gmail worker bundle (which imports classify.ts for Gmail API errors only) kept the whole
// table (+16 KB of source per Gmail worker). Marked pure, it is dropped where unused.
export const CLASSIFICATION_TABLE: readonly ClassificationRule[] = /* @__PURE__ */ [DELIVERED].concat(GMAIL_RULES, MICROSOFT_RULES, YAHOO_RULES, GENERIC_SENDER_RULES, GENERIC_RECIPIENT_RULES);
