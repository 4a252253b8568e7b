/**
 * Limit counters a claim reserved (limits.ts) and whether a result keeps them. A reservation is
 * kept when the attempt may have reached the recipient's side; it is given back when the
 * message certainly went nowhere, so a failure never uses up a day's quota for good:
 *
 *   accepted                     kept: it was sent
 *   transient                    given back: the provider or the receiving server did not take
 *                                it; the retry reserves again when it is claimed. The mailbox's
 *                                pacing still holds: its minimum gap (next_send_at) is not given back
 *   recipient_hard / _soft       kept: the recipient's server saw the attempt, which counts toward
 *                                the mailbox's and the recipient domain's volume (and bounce rate)
 *   sender_reputation /
 *   sender_auth / auth           given back: refused before delivery; the row goes to a sender
 *                                that reserves its own
 *   unknown                      kept until reconciled: it may have been delivered (the sweeper
 *                                gives it back when the row goes back to the queue)
 *   never handed over            given back (build failures, claims released on stop)
 */
import type { DbOrTx } from '../db/connection';
import type { TransitionedRow } from '../queue/queue.repository';
import { releaseCounters } from '../queue/rate-counter.repository';
import type { SendOutcomeClass } from '../transports/transport';
import { reservedKeys, senderDomainOf } from './limits';

export function keepsReservation(outcome: SendOutcomeClass): boolean {
  return outcome === 'accepted' || outcome === 'recipient_hard' || outcome === 'recipient_soft';
}

export async function releaseReservation(tx: DbOrTx, row: TransitionedRow, ctx: { accountId: string; accountEmail: string; accountTimeZone: string }): Promise<void> {
  if (!row.claimed_at) return;
  const accountId = row.claimed_by_account_id ?? ctx.accountId;
  const scope = { campaignId: row.campaign_id, clientId: row.client_id, recipientDomain: row.recipient_domain };
  await releaseCounters(tx, reservedKeys(scope, accountId, senderDomainOf(ctx.accountEmail), new Date(row.claimed_at), ctx.accountTimeZone));
}

/** Gives back what the row's claiming account reserved, looking that account up (its address and zone key the counters). */
export async function releaseClaimerReservation(tx: DbOrTx, row: TransitionedRow): Promise<void> {
  const accountId = row.claimed_by_account_id;
  if (!accountId) return;
  const account = await tx.selectFrom('sender_accounts').select(['email', 'time_zone']).where('id', '=', accountId).executeTakeFirst();
  await releaseReservation(tx, row, { accountId, accountEmail: account?.email ?? '', accountTimeZone: account?.time_zone ?? 'UTC' });
}
