import { BOUNCE_REASONS } from '../../src/bounces/bounce-reasons';
import { CLASSIFICATION_TABLE } from '../../src/bounces/classification-table';
import { classifyReply } from '../../src/bounces/classify-reply';
import { GENERIC_CASES } from './cases/generic.cases';
import { GMAIL_CASES } from './cases/gmail.cases';
import { MICROSOFT_CASES } from './cases/microsoft.cases';
import { POSTFIX_DSN_CASES } from './cases/postfix-dsn.cases';
import type { ReplyCase } from './cases/reply-case';
import { YAHOO_CASES } from './cases/yahoo.cases';

const SOURCES: Array<[string, ReplyCase[]]> = [
  ['Gmail', GMAIL_CASES],
  ['Microsoft', MICROSOFT_CASES],
  ['Yahoo', YAHOO_CASES],
  ['generic RFC 3463 servers', GENERIC_CASES],
  ['our own Postfix DSNs', POSTFIX_DSN_CASES],
];
const ALL_CASES = SOURCES.flatMap(([, cases]) => cases);

describe.each(SOURCES)('classifyReply on real replies from %s', (_source, cases) => {
  it.each(cases)('classifies $name as $outcome ($reason)', ({ input, outcome, reason, rule }) => {
    expect(classifyReply(input)).toMatchObject({ outcome, reason, rule });
  });
});

describe('the classification table', () => {
  it('is checked against at least 60 real replies, a dozen or more from each big provider', () => {
    expect(ALL_CASES.length).toBeGreaterThanOrEqual(60);
    for (const cases of [GMAIL_CASES, MICROSOFT_CASES, YAHOO_CASES]) expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it('has no dead rule: every rule is the first match of at least one real reply, so no earlier rule shadows it', () => {
    const decidedBy = new Set(ALL_CASES.map((c) => classifyReply(c.input).rule));
    const dead = CLASSIFICATION_TABLE.map((rule) => rule.id).filter((id) => !decidedBy.has(id));
    expect(dead).toEqual([]);
  });

  it('gives every rule a unique id, a provider prefix, a documented reason and at least one condition', () => {
    const ids = CLASSIFICATION_TABLE.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of CLASSIFICATION_TABLE) {
      expect(rule.id.startsWith(`${rule.provider}.`)).toBe(true);
      expect(Object.keys(BOUNCE_REASONS)).toContain(rule.reason);
      expect(Object.values(rule.match).filter((condition) => condition !== undefined).length).toBeGreaterThan(0);
    }
  });

  it('uses text patterns that ignore case and keep no state between calls', () => {
    for (const rule of CLASSIFICATION_TABLE) {
      if (!rule.match.text) continue;
      expect({ id: rule.id, flags: rule.match.text.flags }).toEqual({ id: rule.id, flags: 'i' });
    }
  });

  it('suppresses (recipient_hard) only for user unknown, invalid address, host unknown, moved, not accepting and disabled mailboxes', () => {
    const hardReasons = new Set(CLASSIFICATION_TABLE.filter((rule) => rule.outcome === 'recipient_hard').map((rule) => rule.reason));
    expect([...hardReasons].sort()).toEqual(['has_moved', 'host_unknown', 'invalid_address', 'mailbox_disabled', 'not_accepting', 'user_unknown']);
  });

  it('classifies anything at all: an unrecognised 4xx is transient, an unrecognised 5xx or bare text recipient_soft', () => {
    expect(classifyReply({ text: '451 something odd happened' })).toEqual({ outcome: 'transient', reason: 'temporary_failure', rule: 'generic.temporary', code: 451 });
    expect(classifyReply({ text: '550 something odd happened' })).toEqual({ outcome: 'recipient_soft', reason: 'undefined', rule: 'generic.undefined', code: 550 });
    expect(classifyReply({ text: '' })).toEqual({ outcome: 'recipient_soft', reason: 'undefined', rule: 'generic.undefined' });
    expect(classifyReply({ code: 250, text: '' })).toMatchObject({ outcome: 'accepted', reason: 'delivered' });
  });

  it('never blames a recipient for an answer given before one was named (connect, AUTH, MAIL FROM)', () => {
    const recipientWords = ['550 5.1.1 User unknown', '552 5.2.2 Mailbox full', '554 5.7.1 Message rejected due to policy', "554 delivery error: dd This user doesn't have a yahoo.com account", '550 5.5.0 Requested action not taken: mailbox unavailable'];
    for (const stage of ['connect', 'auth', 'mail'] as const) {
      for (const text of recipientWords) expect({ stage, text, outcome: classifyReply({ stage, text }).outcome }).not.toMatchObject({ outcome: expect.stringMatching(/^recipient_/) });
    }
  });

  it('softens recipient and account classes of a 4xx to transient, but keeps sender-side classes', () => {
    expect(classifyReply({ text: '450 4.1.1 <a@example.test>: Recipient address rejected: User unknown' }).outcome).toBe('transient');
    expect(classifyReply({ text: '452 4.2.2 Mailbox full' }).outcome).toBe('transient');
    expect(classifyReply({ text: '421 4.7.0 TLS required for RCPT domain, closing connection.', stage: 'rcpt' })).toMatchObject({ outcome: 'transient', reason: 'starttls_required' });
    expect(classifyReply({ text: '421 4.7.26 Multiple authentication checks failed' }).outcome).toBe('sender_auth');
    expect(classifyReply({ text: '421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints' }).outcome).toBe('sender_reputation');
  });

  it('reads a final report of a temporary failure as recipient_soft, and leaves sender-side and hard classes alone', () => {
    expect(classifyReply({ enhancedCode: '4.4.7', text: 'smtp; 451 4.4.7 Delivery time expired', final: true })).toMatchObject({ outcome: 'recipient_soft', reason: 'temporary_failure' });
    expect(classifyReply({ text: '421 4.7.28 Gmail has detected an unusual rate of mail originating from your IP address', final: true }).outcome).toBe('sender_reputation');
    expect(classifyReply({ text: '550 5.1.1 User unknown', final: true }).outcome).toBe('recipient_hard');
  });

  it('returns the reply code and enhanced code it read, preferring the ones given', () => {
    expect(classifyReply({ text: '550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 gsmtp' })).toMatchObject({ code: 550, enhancedCode: '5.1.1' });
    expect(classifyReply({ code: 554, enhancedCode: '5.7.1', text: 'rejected' })).toMatchObject({ code: 554, enhancedCode: '5.7.1' });
  });
});
