/**
 * Crash recovery, callable (the server runs it periodically; tests call it directly):
 *   1. expired `claimed` rows (never handed to a transport) → `queued`, reservations released;
 *   2. expired `sending` rows → `unknown`, but only once their worker is gone or the longest
 *      possible send (sending.maxSendMs, which the transports enforce) has passed since the row
 *      was handed over: a live worker renews its leases, and one that is only slow (or waiting
 *      for the database to write its result) still records the truth, so its rows are left alone;
 *   3. every `unknown` row is looked up in its sender's Sent mail by Message-ID:
 *        found → `sent` (and its follow-up queued), at once;
 *        not found → `queued`; cannot tell (plain SMTP relay) → `held` for an operator, or
 *        `queued` when sending.unknownPolicy is 'requeue' (accepting a possible duplicate):
 *        both only after the row has been unknown for sending.reconcileGraceMs, because Sent
 *        mail is searched through an index that lags (Gmail) and a late result of a live
 *        worker may still arrive; until then the row stays unknown.
 *      A lookup that fails (mailbox unreachable) leaves the row `unknown` for the next sweep:
 *      "cannot check now" is never taken as "not sent" (invariant 2).
 */
import type { Db } from '../db/connection';
import { insertSendLogs } from '../sending/send-log.repository';
import { releaseClaimerReservation } from '../sending/reservations';
import type { Transport } from '../transports/transport';
import { enqueueFollowUps, sentForFollowUp } from './enqueue';
import { findExpiredLeases, findUnknownRows, settleUnknown, transition, type ExpiredLease } from './queue.repository';

export interface SweepOptions {
  unknownPolicy: 'hold' | 'requeue';
  /**
   * Of these accounts, the ones whose worker may still be running (on this node or on a live
   * node that owns it). Absent: no worker is known to run (tests, tools).
   */
  workerMayBeAlive?: (accountIds: string[]) => Promise<Set<string>>;
  /** The longest a send can take (sending.maxSendMs); default: no time-based judgement. */
  maxSendMs?: number;
  /** How long a row stays unknown before "not found" / "cannot tell" settles it (default 0). */
  reconcileGraceMs?: number;
  /**
   * The transport of an account, for Sent-mail lookups; the sweeper closes it when done.
   * Undefined (no such account, credentials unusable) counts as "cannot tell".
   */
  transportFor(accountId: string): Promise<Transport | undefined>;
  /** Rows handled per step and sweep (default 500). */
  limit?: number;
  /**
   * Only the leases and unknown rows of this account: its worker is known to be dead while
   * the other accounts' workers run (a bench that kills one worker; an operator's tool).
   */
  accountId?: string;
  logger?: { warn(message: string, meta?: Record<string, unknown>): void };
}

export interface SweepReport {
  requeuedClaims: number;
  /** Expired `sending` rows left alone because their worker may still be sending them. */
  leftToLiveWorker: number;
  markedUnknown: number;
  reconciledSent: number;
  requeuedUnknown: number;
  held: number;
  lookupFailed: number;
  /** Unknown rows not found (or not checkable) yet, still within sending.reconcileGraceMs. */
  waitingGrace: number;
}

export async function sweepExpiredLeases(db: Db, now: Date, options: SweepOptions): Promise<SweepReport> {
  const limit = options.limit ?? 500;
  const report: SweepReport = { requeuedClaims: 0, leftToLiveWorker: 0, markedUnknown: 0, reconciledSent: 0, requeuedUnknown: 0, held: 0, lookupFailed: 0, waitingGrace: 0 };

  const expired = await findExpiredLeases(db, now, limit, options.accountId);
  const sendingAccounts = [...new Set(expired.filter((l) => l.status === 'sending' && l.claimed_by_account_id).map((l) => l.claimed_by_account_id as string))];
  const alive = sendingAccounts.length > 0 && options.workerMayBeAlive ? await options.workerMayBeAlive(sendingAccounts) : new Set<string>();
  const longestSendOver = (lease: ExpiredLease) =>
    options.maxSendMs !== undefined && lease.sending_at !== null && now.getTime() - lease.sending_at.getTime() > options.maxSendMs;
  for (const lease of expired) {
    if (lease.status === 'sending' && lease.claimed_by_account_id && alive.has(lease.claimed_by_account_id) && !longestSendOver(lease)) {
      report.leftToLiveWorker += 1;
      continue;
    }
    await db.transaction().execute(async (tx) => {
      if (lease.status === 'claimed') {
        const row = await transition(tx, lease.id, ['claimed'], lease.lease_token, { status: 'queued', lease_token: null, lease_expires_at: null, updated_at: now });
        if (!row) return;
        await releaseClaimerReservation(tx, row);
        report.requeuedClaims += 1;
      } else {
        // Keep the lease token: the worker, if it is only slow, can still record the truth.
        const row = await transition(tx, lease.id, ['sending'], lease.lease_token, { status: 'unknown', last_error: 'delivery uncertain: lease expired while sending', updated_at: now });
        if (!row) return;
        await insertSendLogs(tx, [
          { queueId: row.id, clientId: row.client_id, campaignId: row.campaign_id, accountId: row.claimed_by_account_id, messageId: row.message_id, attempt: row.attempts + 1, outcome: 'unknown', response: 'lease expired while sending', at: now },
        ]);
        report.markedUnknown += 1;
      }
    });
  }

  const unknown = await findUnknownRows(db, limit, options.accountId);
  const byAccount = new Map<string, typeof unknown>();
  for (const row of unknown) {
    const accountId = row.claimed_by_account_id ?? row.account_id ?? '';
    byAccount.set(accountId, [...(byAccount.get(accountId) ?? []), row]);
  }

  for (const [accountId, rows] of byAccount) {
    let transport: Transport | undefined;
    try {
      transport = accountId ? await options.transportFor(accountId) : undefined;
    } catch (error) {
      options.logger?.warn('reconcile: transport unavailable', { accountId, error: (error as Error).message });
    }
    try {
      for (const row of rows) {
        let found: boolean | undefined;
        try {
          found = transport ? await transport.findSent(row.message_id) : undefined;
        } catch (error) {
          report.lookupFailed += 1;
          options.logger?.warn('reconcile: Sent-mail lookup failed; row stays unknown', { queueId: row.id, error: (error as Error).message });
          continue;
        }
        if (found !== true && now.getTime() - row.updated_at.getTime() < (options.reconcileGraceMs ?? 0)) {
          report.waitingGrace += 1;
          continue;
        }
        const to = found === true ? 'sent' : found === false || options.unknownPolicy === 'requeue' ? 'queued' : 'held';
        const note = found === true ? 'found in Sent mail' : found === false ? 'not found in Sent mail' : 'delivery cannot be verified';
        await db.transaction().execute(async (tx) => {
          const settled = await settleUnknown(tx, row.id, row.lease_token, to, now, note);
          if (!settled) return;
          await insertSendLogs(tx, [
            { queueId: settled.id, clientId: settled.client_id, campaignId: settled.campaign_id, accountId: settled.claimed_by_account_id, messageId: settled.message_id, attempt: settled.attempts, outcome: 'reconciled', response: note, at: now },
          ]);
          if (to === 'sent') {
            await enqueueFollowUps(tx, [sentForFollowUp(settled, settled.claimed_by_account_id ?? accountId, now)]);
            report.reconciledSent += 1;
          } else if (to === 'queued') {
            await releaseClaimerReservation(tx, settled);
            report.requeuedUnknown += 1;
          } else {
            report.held += 1;
          }
        });
      }
    } finally {
      await transport?.close().catch(() => undefined);
    }
  }
  return report;
}
