/**
 * The Status and Diagnostic-Code of every real Postfix DSN of our own messages in
 * shared/fixtures/dsn/ (Postfix 3.7.11), copied verbatim with their folded lines, as a bounce
 * reader will pass them. `final` is the DSN's Action: failed (delayed reports are not final).
 */
import type { ReplyCase } from './reply-case';

interface DsnField {
  file: string;
  action: 'failed' | 'delayed' | 'delivered';
  status: string;
  diagnostic: string;
}

const dsn = (field: DsnField, expected: Pick<ReplyCase, 'outcome' | 'reason' | 'rule'>): ReplyCase => ({
  name: `Postfix DSN ${field.file} (${field.action} ${field.status})`,
  input: { enhancedCode: field.status, text: field.diagnostic, ...(field.action === 'failed' ? { final: true } : {}) },
  ...expected,
});

const UNKNOWN_VIRTUAL = (address: string) => `smtp; 550 5.1.1 <${address}>: Recipient address\n    rejected: User unknown in virtual mailbox table`;
const GREYLISTED = 'smtp; 451 4.7.1 Greylisted, please try again later';
const USER_UNKNOWN = { outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.status' } as const;

export const POSTFIX_DSN_CASES: ReplyCase[] = [
  dsn({ file: '01-failed-local-unknown-user-5.1.1.eml', action: 'failed', status: '5.1.1', diagnostic: 'X-Postfix; unknown user: "nosuchuser"' }, USER_UNKNOWN),
  dsn({ file: '02-failed-remote-rcpt-550-5.1.1.eml', action: 'failed', status: '5.1.1', diagnostic: UNKNOWN_VIRTUAL('gone@bounce.test') }, USER_UNKNOWN),
  dsn({ file: '03-failed-remote-data-554-5.7.1.eml', action: 'failed', status: '5.7.1', diagnostic: 'smtp; 554 5.7.1 Message rejected as spam by content filter' }, { outcome: 'recipient_soft', reason: 'content_rejected', rule: 'generic.content_rejected' }),
  dsn({ file: '04-delayed-remote-451-4.7.1.eml', action: 'delayed', status: '4.7.1', diagnostic: GREYLISTED }, { outcome: 'transient', reason: 'greylisted', rule: 'generic.greylisted' }),
  // Postfix gave up after its queue lifetime: nothing retries it any more.
  dsn({ file: '05-failed-expired-after-451-4.7.1.eml', action: 'failed', status: '4.7.1', diagnostic: GREYLISTED }, { outcome: 'recipient_soft', reason: 'greylisted', rule: 'generic.greylisted' }),
  dsn({ file: '06-failed-remote-rcpt-550-followup-step2.eml', action: 'failed', status: '5.1.1', diagnostic: UNKNOWN_VIRTUAL('gone@bounce.test') }, USER_UNKNOWN),
  dsn({ file: '07-failed-local-unknown-ret-hdrs-envid-orcpt.eml', action: 'failed', status: '5.1.1', diagnostic: 'X-Postfix; unknown user: "nosuchuser2"' }, USER_UNKNOWN),
  dsn({ file: '08-failed-one-of-three-rcpts-ret-full-envid.eml', action: 'failed', status: '5.1.1', diagnostic: UNKNOWN_VIRTUAL('gone3@bounce.test') }, USER_UNKNOWN),
  dsn({ file: '09-failed-unroutable-domain-5.7.1.eml', action: 'failed', status: '5.7.1', diagnostic: 'X-Postfix; external delivery disabled in this test instance' }, { outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'generic.policy_rejected' }),
  dsn({ file: '10-delivered-success-notify.eml', action: 'delivered', status: '2.0.0', diagnostic: 'X-Postfix; delivery via virtual: delivered to maildir' }, { outcome: 'accepted', reason: 'delivered', rule: 'generic.delivered' }),
  dsn({ file: '11-delayed-one-of-three-rcpts-envid.eml', action: 'delayed', status: '4.7.1', diagnostic: GREYLISTED }, { outcome: 'transient', reason: 'greylisted', rule: 'generic.greylisted' }),
  dsn({ file: '12-failed-expired-one-of-three-rcpts-envid.eml', action: 'failed', status: '4.7.1', diagnostic: GREYLISTED }, { outcome: 'recipient_soft', reason: 'greylisted', rule: 'generic.greylisted' }),
];
