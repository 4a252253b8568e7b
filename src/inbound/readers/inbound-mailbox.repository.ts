/**
 * inbound_mailboxes (migration 0019): which mailboxes are read, when, by whom, and where each
 * stopped. All times are the database's, so nodes with skewed clocks agree.
 *
 * Read: every account that is not disabled and has somewhere to read — an SMTP account with
 * IMAP settings, a Gmail account — (a paused or suspended mailbox still receives the replies
 * and bounces of what it sent), and every sender domain with a bounce mailbox.
 */
import { alertEntity, raiseAlert, resolveAlerts } from '../../alerts/alerts';
import { sql } from 'kysely';
import type { DbOrTx } from '../../db/connection';
import type { MailboxCursor } from './mailbox-reader';

const readableAccount = sql<boolean>`a.status <> 'disabled' and (a.transport = 'gmail' or (a.transport = 'smtp' and a.transport_settings -> 'imap' is not null))`;

/**
 * Adds a row for every readable mailbox that has none. New rows are spread evenly over one
 * poll interval, so 1,200 mailboxes added at once are not all polled at once; each then keeps
 * its place in the interval (claimDueMailboxes). `since`: the account's creation or the
 * domain's change, but no more than `lookbackMs` ago.
 */
export async function addReadableMailboxes(db: DbOrTx, intervalMs: number, lookbackMs: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with missing as (
      select a.id as account_id, null::uuid as domain_id, greatest(a.created_at, now() - make_interval(secs => ${lookbackMs / 1000})) as since
        from sender_accounts a
       where ${readableAccount} and not exists (select 1 from inbound_mailboxes m where m.account_id = a.id)
      union all
      select null, d.id, greatest(d.updated_at, now() - make_interval(secs => ${lookbackMs / 1000}))
        from sender_domains d
       where d.bounce_mailbox is not null and not exists (select 1 from inbound_mailboxes m where m.domain_id = d.id)
    ), spread as (
      select *, (row_number() over (order by account_id, domain_id) - 1)::float8 / count(*) over () as share from missing
    ), added as (
      insert into inbound_mailboxes (account_id, domain_id, since, next_poll_at)
      select account_id, domain_id, since, now() + make_interval(secs => share * ${intervalMs / 1000}) from spread
      on conflict do nothing
      returning 1
    )
    select count(*)::int as n from added`.execute(db);
  return rows[0]?.n ?? 0;
}

export interface ClaimedMailbox {
  id: string;
  accountId: string | null;
  domainId: string | null;
  cursor: MailboxCursor;
}

/**
 * Claims up to `limit` readable mailboxes that are due and not being read by any node, for
 * `claimMs`, and moves each one's next poll a whole number of intervals on: a mailbox keeps its
 * place in the interval even after an outage, so the spread is never lost. SKIP LOCKED and the
 * claim keep two nodes (or two passes) off one mailbox.
 */
export interface PollSchedule {
  intervalMs: number;
  /**
   * The interval for the inbox of an account that sent within activeWindowMs (its next allowed
   * send is that recent): bounces come back minutes after a send, and a mailbox must pause
   * before it sends many more (at the default 90 s gap, a 300 s poll lets ~4 more go out after a
   * DSN that crosses the bounce threshold has arrived; a 60 s poll at most one).
   */
  activeIntervalMs: number;
  activeWindowMs: number;
  claimMs: number;
}

export async function claimDueMailboxes(db: DbOrTx, nodeId: string, limit: number, schedule: PollSchedule): Promise<ClaimedMailbox[]> {
  if (limit <= 0) return [];
  const { claimMs } = schedule;
  const intervalS = schedule.intervalMs / 1000;
  const activeS = schedule.activeIntervalMs / 1000;
  const activeWindowS = schedule.activeWindowMs / 1000;
  const { rows } = await sql<{
    id: string;
    account_id: string | null;
    domain_id: string | null;
    since: Date;
    uid_validity: string | null;
    last_uid: string | null;
    gmail_history_id: string | null;
    last_seen_at: Date | null;
  }>`
    with due as (
      select m.id,
             case when a.next_send_at > now() - make_interval(secs => ${activeWindowS}) then ${activeS}::float8 else ${intervalS}::float8 end as interval_s
        from inbound_mailboxes m
        left join sender_accounts a on a.id = m.account_id
        left join sender_domains d on d.id = m.domain_id
       where m.next_poll_at <= now()
         and (m.claimed_until is null or m.claimed_until < now())
         and ((m.account_id is not null and ${readableAccount}) or (m.domain_id is not null and d.bounce_mailbox is not null))
       order by m.next_poll_at
       limit ${limit}
       for update of m skip locked
    )
    update inbound_mailboxes m
       set claimed_until = now() + make_interval(secs => ${claimMs / 1000}),
           claimed_by = ${nodeId},
           next_poll_at = m.next_poll_at + make_interval(secs => due.interval_s * (floor(extract(epoch from now() - m.next_poll_at) / due.interval_s) + 1))
      from due
     where m.id = due.id
    returning m.id, m.account_id, m.domain_id, m.since, m.uid_validity, m.last_uid, m.gmail_history_id, m.last_seen_at`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    accountId: r.account_id,
    domainId: r.domain_id,
    cursor: {
      since: r.since,
      uidValidity: r.uid_validity === null ? null : Number(r.uid_validity),
      lastUid: r.last_uid === null ? null : Number(r.last_uid),
      gmailHistoryId: r.gmail_history_id,
      lastSeenAt: r.last_seen_at,
    },
  }));
}

/** Saves a reader's progress, only while this node holds the claim. */
export async function saveCursor(db: DbOrTx, mailboxId: string, nodeId: string, cursor: MailboxCursor): Promise<void> {
  await db
    .updateTable('inbound_mailboxes')
    .set({
      since: cursor.since,
      uid_validity: cursor.uidValidity,
      last_uid: cursor.lastUid,
      gmail_history_id: cursor.gmailHistoryId,
      last_seen_at: cursor.lastSeenAt,
      updated_at: sql`now()`,
    })
    .where('id', '=', mailboxId)
    .where('claimed_by', '=', nodeId)
    .execute();
}

/**
 * Ends a poll: releases the claim and records how it went. A failure of the mailbox counts one
 * more in a row (returned, for the alert); a success clears the error. `error: undefined,
 * countFailure: false` (delivery failed) releases without judging the mailbox.
 */
export async function finishPoll(db: DbOrTx, mailboxId: string, nodeId: string, outcome: { error?: string; countFailure: boolean }): Promise<number> {
  const failed = outcome.error !== undefined && outcome.countFailure;
  const row = await db
    .updateTable('inbound_mailboxes')
    .set((eb) => ({
      claimed_until: null,
      claimed_by: null,
      updated_at: sql`now()`,
      ...(failed
        ? { last_error: outcome.error ?? null, last_error_at: sql`now()`, consecutive_failures: eb('consecutive_failures', '+', 1) }
        : outcome.error === undefined
          ? { last_read_at: sql`now()`, last_error: null, last_error_at: null, consecutive_failures: 0 }
          : {}),
    }))
    .where('id', '=', mailboxId)
    .where('claimed_by', '=', nodeId)
    .returning('consecutive_failures')
    .executeTakeFirst();
  return row?.consecutive_failures ?? 0;
}

/** The mailbox was read again: its read alert (if any) is resolved. */
export async function resolveReadAlert(db: DbOrTx, mailboxId: string): Promise<void> {
  await resolveAlerts(db, { entityKey: alertEntity.mailbox(mailboxId), codes: ['inbound_read_failed'] });
}

/** An alert once a mailbox has failed `failures` polls in a row (raised at that count, not again until it recovers). */
export async function raiseReadAlert(db: DbOrTx, mailbox: { id: string; accountId: string | null; domainId: string | null }, failures: number, error: string): Promise<void> {
  const owner = mailbox.accountId
    ? await db.selectFrom('sender_accounts').select(['client_id', 'email as name']).where('id', '=', mailbox.accountId).executeTakeFirst()
    : await db.selectFrom('sender_domains').select(['client_id', 'domain as name']).where('id', '=', mailbox.domainId ?? '').executeTakeFirst();
  if (!owner) return;
  const what = mailbox.accountId ? `The inbox of ${owner.name}` : `The bounce mailbox of ${owner.name}`;
  await raiseAlert(db, {
    clientId: owner.client_id,
    accountId: mailbox.accountId,
    severity: 'warning',
    code: 'inbound_read_failed',
    entityKey: alertEntity.mailbox(mailbox.id),
    message: `${what} could not be read ${failures} times in a row: ${error}. Bounces, complaints and replies to it are not seen until it can.`,
    details: { failures, error, ...(mailbox.domainId ? { domainId: mailbox.domainId } : {}) },
  });
}
