/**
 * What each class of inbound message does, once, whatever its source (a mailbox, a bounce
 * mailbox, an ESP webhook), in the transaction that stores it. Only a message matched to one of
 * our queue rows acts; the rest is stored for a person.
 *
 *   hard bounce        bounces row (hard) → suppression (hard_bounce), the contact's sequence in
 *                      that campaign stops (bounced, waiting rows cancelled), and the sending
 *                      mailbox's bounce rate and health are recomputed by the same machinery as
 *                      SMTP-time bounces (sender-health.ts): over its threshold it pauses
 *   soft bounce        bounces row (soft); softBounceSuppressAfter of them within
 *                      softBounceWindowDays suppress the address (soft_bounce)
 *   sender_reputation  the sending mailbox pauses for the cool-down (then one probe)
 *   sender_auth        every active mailbox of the sender domain pauses; one critical alert
 *   complaint          complaints row → suppression (complaint), every sequence of the contact
 *                      stops (complained, waiting rows cancelled), an alert, and the sending
 *                      mailbox pauses (inbound.pauseOnComplaint; health counts complaints);
 *                      the sender domain's complaint rate is judged (domains/domain-rates.ts)
 *   reply              replies row; when the campaign stops on reply: the contact → replied
 *                      and its waiting rows cancelled, and when the campaign's stopCompanyOnReply
 *                      (null: inbound.stopCompanyOnReply) says so every active contact of the
 *                      same (non free-mail) domain in the campaign
 *   auto_reply         the contact's waiting rows in the campaign wait until the stated return
 *                      date, or inbound.autoReplyDelayHours
 *   delay, delivered, unmatched: stored only.
 * Each change is returned as an AppliedEffect, kept with the message for undo.
 */
import type { DbOrTx } from '../db/connection';
import type { InboundKind } from '../db/database';
import { alertEntity, raiseAlert } from '../alerts/alerts';
import { pauseAccount, pauseSenderDomain } from '../sending/account-state.repository';
import { insertBounce } from '../sending/bounce-outcome.repository';
import { senderDomainOf } from '../sending/limits';
import { applyHealth } from '../sending/sender-health';
import { addSuppression } from '../suppressions/suppression.repository';
import { checkDomainComplaintRate } from '../domains/domain-rates';
import type { AppliedEffect } from './applied-effect';
import {
  accountStatus,
  campaignReplyStops,
  cancelWaitingRows,
  countSoftBounces,
  delayWaitingRows,
  insertComplaint,
  insertReply,
  setContactStatus,
  stopCompanyContacts,
} from './inbound-effects.repository';
import type { MatchedRow } from './inbound-match.repository';
import type { InboundSettings } from './inbound-settings';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const REPLY_SNIPPET_CHARS = 500;

export type EffectClass = 'hard_bounce' | 'soft_bounce' | 'sender_reputation' | 'sender_auth' | 'complaint' | 'reply' | 'auto_reply' | 'none';

/**
 * A bounce's sub-kind is the outcome class of its failed recipient (the one classification
 * table): recipient_hard suppresses; sender-side classes act on the mailbox or domain; anything
 * else a final report says (recipient_soft, an account or transient class) counts as soft.
 */
export function effectClassOf(kind: InboundKind, subKind: string | null): EffectClass {
  switch (kind) {
    case 'bounce':
      if (subKind === 'recipient_hard') return 'hard_bounce';
      if (subKind === 'sender_reputation' || subKind === 'sender_auth') return subKind;
      return 'soft_bounce';
    case 'complaint':
    case 'reply':
    case 'auto_reply':
      return kind;
    default:
      return 'none';
  }
}

export interface EffectTarget {
  inboundId: number;
  kind: InboundKind;
  subKind: string | null;
  row: MatchedRow;
  /** The inbound message's own fields. */
  from: string | null;
  subject: string;
  text: string | null;
  headerMessageId: string | null;
  /** Reports: the failed recipient's status code and the server's words. */
  code: string | null;
  diagnostic: string;
  /** auto_reply: YYYY-MM-DD the sender says they are back. */
  returnDate?: string;
}

export async function applyEffects(tx: DbOrTx, target: EffectTarget, settings: InboundSettings, now: Date): Promise<AppliedEffect[]> {
  const effects: AppliedEffect[] = [];
  const { row } = target;
  const marker = `inbound ${target.inboundId}: ${target.kind}`;
  const suppress = async (reason: 'hard_bounce' | 'soft_bounce' | 'complaint') => {
    if (await addSuppression(tx, { clientId: row.client_id, email: row.to_email, reason, source: `inbound:${target.inboundId}` })) {
      effects.push({ type: 'suppression', clientId: row.client_id, email: row.to_email.toLowerCase(), reason });
    }
  };
  const stop = async (to: 'bounced' | 'complained' | 'replied', allCampaigns: boolean) => {
    const campaigns = await setContactStatus(tx, { contactId: row.contact_id, ...(allCampaigns ? {} : { campaignId: row.campaign_id }), from: ['active', 'finished'], to });
    if (campaigns.length > 0) effects.push({ type: 'contact_status', contactId: row.contact_id, to, campaigns });
    const queueIds = await cancelWaitingRows(tx, { clientId: row.client_id, contactIds: [row.contact_id], ...(allCampaigns ? {} : { campaignId: row.campaign_id }) }, marker, now);
    if (queueIds.length > 0) effects.push({ type: 'queue_cancelled', queueIds, marker });
  };

  switch (effectClassOf(target.kind, target.subKind)) {
    case 'hard_bounce': {
      const bounceId = await insertBounce(tx, { ...bounceOf(target), type: 'hard', at: now });
      effects.push({ type: 'bounce', bounceId, bounceType: 'hard' });
      await suppress('hard_bounce');
      await stop('bounced', false);
      await recomputeHealth(tx, row.sender_account_id, settings, now, target.diagnostic, effects);
      break;
    }
    case 'soft_bounce': {
      const bounceId = await insertBounce(tx, { ...bounceOf(target), type: 'soft', at: now });
      effects.push({ type: 'bounce', bounceId, bounceType: 'soft' });
      const recent = await countSoftBounces(tx, row.client_id, row.to_email, new Date(now.getTime() - settings.softBounceWindowDays * DAY_MS));
      if (recent >= settings.softBounceSuppressAfter) await suppress('soft_bounce');
      break;
    }
    case 'sender_reputation': {
      if (!row.sender_account_id) break;
      const until = new Date(now.getTime() + settings.cooldownMinutes * 60_000);
      const paused = await pauseAccount(tx, row.sender_account_id, { reason: 'sender_reputation', until, now, details: { inboundMessageId: target.inboundId, response: target.diagnostic, enhancedCode: target.code } });
      if (paused) effects.push({ type: 'account_paused', accountId: row.sender_account_id, reason: 'sender_reputation' });
      break;
    }
    case 'sender_auth': {
      const account = row.sender_account_id ? await accountStatus(tx, row.sender_account_id) : undefined;
      if (!account) break;
      const domain = senderDomainOf(account.email);
      const until = new Date(now.getTime() + settings.cooldownMinutes * 60_000);
      const accounts = await pauseSenderDomain(tx, { clientId: row.client_id, domain, reason: 'sender_auth', until, now, details: { inboundMessageId: target.inboundId, response: target.diagnostic, enhancedCode: target.code } });
      if (accounts > 0) effects.push({ type: 'domain_paused', domain, accounts });
      break;
    }
    case 'complaint': {
      const complaintId = await insertComplaint(tx, { clientId: row.client_id, queueId: row.id, accountId: row.sender_account_id, email: row.to_email, inboundMessageId: target.inboundId, at: now });
      effects.push({ type: 'complaint', complaintId });
      await suppress('complaint');
      await stop('complained', true);
      const sender = row.sender_account_id ? await accountStatus(tx, row.sender_account_id) : undefined;
      // One open complaint alert per mailbox (per client without one): more complaints count on it.
      const alert = await raiseAlert(tx, {
        clientId: row.client_id,
        accountId: row.sender_account_id,
        severity: 'warning',
        code: 'complaint_received',
        entityKey: row.sender_account_id ? alertEntity.account(row.sender_account_id) : `client:${row.client_id}`,
        message: `${row.to_email} reported a message from ${sender?.email ?? 'a deleted mailbox'} as spam${settings.pauseOnComplaint && sender ? '; the mailbox is paused' : ''}`,
        details: { inboundMessageId: target.inboundId, queueId: row.id, campaignId: row.campaign_id, contactId: row.contact_id },
        at: now,
      });
      if (alert.isNew) effects.push({ type: 'alert', alertId: alert.id });
      await recomputeHealth(tx, row.sender_account_id, settings, now, `complaint from ${row.to_email}`, effects);
      if (sender) await checkDomainComplaintRate(tx, row.client_id, senderDomainOf(sender.email), settings, now, effects);
      break;
    }
    case 'reply': {
      const replyId = await insertReply(tx, {
        clientId: row.client_id,
        queueId: row.id,
        campaignId: row.campaign_id,
        contactId: row.contact_id,
        accountId: row.sender_account_id,
        from: target.from ?? row.to_email,
        subject: target.subject,
        snippet: (target.text ?? '').slice(0, REPLY_SNIPPET_CHARS),
        messageId: target.headerMessageId,
        inboundMessageId: target.inboundId,
        at: now,
      });
      effects.push({ type: 'reply', replyId });
      const stops = await campaignReplyStops(tx, row.campaign_id);
      if (!stops.contact) break;
      await stop('replied', false);
      const domain = row.to_email.split('@')[1]?.toLowerCase();
      if ((stops.company ?? settings.stopCompanyOnReply) && domain && !settings.freeMailDomains.includes(domain)) {
        const contactIds = await stopCompanyContacts(tx, row.campaign_id, row.client_id, domain, row.contact_id);
        if (contactIds.length > 0) {
          for (const contactId of contactIds) effects.push({ type: 'contact_status', contactId, to: 'cancelled', campaigns: [{ campaignId: row.campaign_id, from: 'active' }] });
          const queueIds = await cancelWaitingRows(tx, { clientId: row.client_id, contactIds, campaignId: row.campaign_id }, `${marker} (same company)`, now);
          if (queueIds.length > 0) effects.push({ type: 'queue_cancelled', queueIds, marker: `${marker} (same company)` });
        }
      }
      break;
    }
    case 'auto_reply': {
      const until = autoReplyUntil(target.returnDate, settings, now);
      const rows = await delayWaitingRows(tx, row.campaign_id, row.contact_id, until, now);
      if (rows.length > 0) effects.push({ type: 'queue_delayed', until: until.toISOString(), rows });
      break;
    }
    case 'none':
      break;
  }
  return effects;
}

/** The stated return date (its start, UTC; the sending window picks the hour), never before now. */
export function autoReplyUntil(returnDate: string | undefined, settings: Pick<InboundSettings, 'autoReplyDelayHours'>, now: Date): Date {
  if (returnDate) {
    const back = new Date(`${returnDate}T00:00:00Z`);
    if (!Number.isNaN(back.getTime())) return back > now ? back : now;
  }
  return new Date(now.getTime() + settings.autoReplyDelayHours * HOUR_MS);
}

function bounceOf(target: EffectTarget) {
  const { row } = target;
  return { clientId: row.client_id, queueId: row.id, accountId: row.sender_account_id, email: row.to_email, code: target.code, diagnostic: target.diagnostic, inboundMessageId: target.inboundId };
}

/**
 * The sending mailbox's health, recomputed as after an SMTP-time result (its bounce rate now
 * includes this bounce, its complaints this complaint); a pause it causes is recorded for undo.
 */
async function recomputeHealth(tx: DbOrTx, accountId: string | null, settings: InboundSettings, now: Date, response: string, effects: AppliedEffect[]): Promise<void> {
  if (!accountId) return;
  const before = await accountStatus(tx, accountId);
  if (!before) return;
  await applyHealth(tx, { accountId, probe: false, settings: { cooldownMinutes: settings.cooldownMinutes, health: { ...settings.health, pauseOnComplaint: settings.pauseOnComplaint } } }, 0, now, response);
  const after = await accountStatus(tx, accountId);
  if (after?.status === 'paused' && (before.status !== 'paused' || before.pause_reason !== after.pause_reason)) {
    effects.push({ type: 'account_paused', accountId, reason: after.pause_reason ?? '' });
  }
}
