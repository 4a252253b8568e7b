/**
 * What an inbound message changed, stored with it (inbound_messages.effects) so that a person's
 * reclassification can undo exactly that (effect-undo.ts) before the new class acts.
 */
import type { CampaignContactStatus } from '../db/database';

export type AppliedEffect =
  | { type: 'bounce'; bounceId: number; bounceType: 'hard' | 'soft' }
  | { type: 'complaint'; complaintId: number }
  | { type: 'reply'; replyId: number }
  /** A suppression this message added (its source is the message: `inbound:<id>`). */
  | { type: 'suppression'; clientId: string; email: string; reason: 'hard_bounce' | 'soft_bounce' | 'complaint' }
  | { type: 'contact_status'; contactId: string; to: CampaignContactStatus; campaigns: Array<{ campaignId: string; from: CampaignContactStatus }> }
  /** Waiting queue rows cancelled; their last_error is `marker`, so only these go back. */
  | { type: 'queue_cancelled'; queueIds: number[]; marker: string }
  | { type: 'queue_delayed'; until: string; rows: Array<{ id: number; from: string }> }
  | { type: 'account_paused'; accountId: string; reason: string }
  /** Not undone: every mailbox of the domain was refused for the domain's own DNS. */
  | { type: 'domain_paused'; domain: string; accounts: number }
  | { type: 'alert'; alertId: number };
