/**
 * A sender account's sending state. Account states (sender_accounts.status):
 *
 *   active ──auto-pause (bounce rate, complaint, failures, blocked)──▶ paused (probe_pending,
 *     paused_until = cool-down end) ──cool-down over, one probe send accepted──▶ active
 *   active | paused ──auth failure──▶ suspended (operator must fix credentials or TLS settings)
 *   disabled / manual pause (no probe_pending): the worker stops.
 *
 * Every automatic change writes an audit_log row (actor 'worker') and raises an alert (src/alerts/);
 * a resume resolves it.
 */
import { sql } from 'kysely';
import { alertEntity, raiseAlert, resolveAccountAlerts, resolveAlerts } from '../alerts/alerts';
import { BOUNCE_REASONS, type BounceReason } from '../bounces/bounce-reasons';
import type { DbOrTx } from '../db/connection';
import type { AccountStatus, TransportKind } from '../db/database';

export interface ClaimAccount {
  id: string;
  client_id: string;
  email: string;
  display_name: string;
  transport: TransportKind;
  transport_settings: Record<string, unknown>;
  status: AccountStatus;
  pause_reason: string | null;
  paused_until: Date | null;
  probe_pending: boolean;
  daily_limit: number;
  hourly_limit: number;
  min_gap_seconds: number;
  warmup_enabled: boolean;
  warmup_curve: string | null;
  warmup_started_on: string | null;
  /** IANA zone: the account's day (daily limit, warm-up day) runs midnight to midnight here. */
  time_zone: string;
  health_score: number;
  deferral_rate_pct: number;
  consecutive_failures: number;
  next_send_at: Date | null;
  resumed_at: Date | null;
  created_at: Date;
  client_daily_limit: number | null;
  sender_domain_daily_limit: number | null;
}

/** Loads the account with what the claim needs; `lock` takes its row lock (serialises claims). */
export async function loadAccountForClaim(db: DbOrTx, accountId: string, lock: boolean): Promise<ClaimAccount | undefined> {
  const result = await sql<ClaimAccount>`
    select a.id, a.client_id, a.email, a.display_name, a.transport, a.transport_settings, a.status, a.pause_reason, a.paused_until, a.probe_pending,
           a.daily_limit, a.hourly_limit, a.min_gap_seconds, a.warmup_enabled, a.warmup_curve, a.warmup_started_on, a.time_zone,
           a.health_score, a.deferral_rate_pct, a.consecutive_failures, a.next_send_at, a.resumed_at, a.created_at,
           cl.daily_limit as client_daily_limit,
           (select d.daily_limit from sender_domains d where lower(d.domain) = lower(split_part(a.email, '@', 2))) as sender_domain_daily_limit
    from sender_accounts a
    join clients cl on cl.id = a.client_id
    where a.id = ${accountId}
    ${lock ? sql`for update of a` : sql``}
  `.execute(db);
  return result.rows[0];
}

export async function loadAccount(db: DbOrTx, accountId: string) {
  return db.selectFrom('sender_accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
}

export async function setNextSendAt(db: DbOrTx, accountId: string, at: Date): Promise<void> {
  await db.updateTable('sender_accounts').set({ next_send_at: at }).where('id', '=', accountId).execute();
}

/** Holds the mailbox back until `at` (a per-mailbox back-off), never bringing its next send forward. */
export async function delayNextSend(db: DbOrTx, accountId: string, at: Date): Promise<void> {
  await db
    .updateTable('sender_accounts')
    .set({ next_send_at: at })
    .where('id', '=', accountId)
    .where((eb) => eb.or([eb('next_send_at', 'is', null), eb('next_send_at', '<', at)]))
    .execute();
}

export async function insertAudit(
  db: DbOrTx,
  entry: { clientId: string | null; actorId: string; action: string; entityType: string; entityId: string; details: Record<string, unknown>; now: Date },
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      client_id: entry.clientId,
      actor_type: 'worker',
      actor_id: entry.actorId,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId,
      details: JSON.stringify(entry.details),
      created_at: entry.now,
    })
    .execute();
}

/**
 * active|paused → paused for a cool-down, then a probe. Only an active account (or one already
 * paused for a probe) is auto-paused: a suspended or disabled one stays as the operator left it.
 */
export async function pauseAccount(
  db: DbOrTx,
  accountId: string,
  pause: { reason: string; until: Date; now: Date; details: Record<string, unknown> },
): Promise<boolean> {
  const row = await db
    .updateTable('sender_accounts')
    .set({ status: 'paused', pause_reason: pause.reason, paused_until: pause.until, probe_pending: true, updated_at: pause.now })
    .where('id', '=', accountId)
    .where((eb) => eb.or([eb('status', '=', 'active'), eb.and([eb('status', '=', 'paused'), eb('probe_pending', '=', true)])]))
    .returning(['client_id', 'email'])
    .executeTakeFirst();
  if (!row) return false;
  await raiseAlert(db, {
    clientId: row.client_id,
    accountId,
    severity: 'critical',
    code: 'account_paused',
    entityKey: alertEntity.account(accountId),
    message: `Sender ${row.email} was paused (${describePause(pause.reason)}) until ${pause.until.toISOString()}; it then sends one probe and resumes if that goes through.`,
    details: { reason: pause.reason, pausedUntil: pause.until.toISOString(), ...pause.details },
    at: pause.now,
  });
  await insertAudit(db, {
    clientId: row.client_id,
    actorId: accountId,
    action: 'account.auto_paused',
    entityType: 'sender_account',
    entityId: accountId,
    details: { reason: pause.reason, pausedUntil: pause.until.toISOString(), ...pause.details },
    now: pause.now,
  });
  return true;
}

const PAUSE_REASONS: Record<string, string> = {
  complaint: 'a recipient reported a message as spam',
  sender_reputation: 'a receiving server refused it for its reputation',
  bounce_rate: 'its bounce rate is over the threshold',
  consecutive_failures: 'too many sends failed in a row',
  probe_failed: 'its probe send after a pause failed',
};

function describePause(reason: string): string {
  return PAUSE_REASONS[reason] ?? reason.replace(/_/g, ' ');
}

function describeSuspension(classification: string | undefined): string {
  return classification && classification in BOUNCE_REASONS ? BOUNCE_REASONS[classification as BounceReason] : 'its credentials were refused';
}

/**
 * Credentials refused, or another fault of the account's own settings (STARTTLS unavailable, a
 * certificate that does not check out): suspended until an operator fixes them; raises a
 * critical alert that says which, in the classification table's words.
 */
export async function suspendAccount(db: DbOrTx, accountId: string, suspension: { reason: string; now: Date; response: string; classification?: string }): Promise<boolean> {
  const row = await db
    .updateTable('sender_accounts')
    .set({ status: 'suspended', pause_reason: suspension.reason, probe_pending: false, updated_at: suspension.now })
    .where('id', '=', accountId)
    .where('status', 'in', ['active', 'paused'])
    .returning(['client_id', 'email'])
    .executeTakeFirst();
  if (!row) return false;
  await raiseAlert(db, {
    clientId: row.client_id,
    accountId,
    severity: 'critical',
    code: 'account_auth_failed',
    entityKey: alertEntity.account(accountId),
    message: `Sender ${row.email} was suspended: ${describeSuspension(suspension.classification)}`,
    details: { reason: suspension.reason, response: suspension.response, ...(suspension.classification ? { classification: suspension.classification } : {}) },
    at: suspension.now,
  });
  await insertAudit(db, {
    clientId: row.client_id,
    actorId: accountId,
    action: 'account.suspended',
    entityType: 'sender_account',
    entityId: accountId,
    details: { reason: suspension.reason, response: suspension.response },
    now: suspension.now,
  });
  return true;
}

/**
 * The sender domain's authentication was refused (SPF / DKIM / DMARC): every mailbox of the
 * domain would fail the same way, so all its active mailboxes pause for the cool-down (each
 * then probes, which succeeds once DNS is fixed), with one critical alert for the domain.
 * Returns how many mailboxes were paused (0: already paused, no new alert). Another reason
 * (a domain's spam rate) gives its own alert code and message.
 */
export async function pauseSenderDomain(
  db: DbOrTx,
  pause: { clientId: string; domain: string; reason: string; until: Date; now: Date; details: Record<string, unknown>; alert?: { code: string; message: (accounts: number) => string } },
): Promise<number> {
  const paused = await db
    .updateTable('sender_accounts')
    .set({ status: 'paused', pause_reason: pause.reason, paused_until: pause.until, probe_pending: true, updated_at: pause.now })
    .where('client_id', '=', pause.clientId)
    .where(sql<boolean>`lower(split_part(email, '@', 2)) = ${pause.domain.toLowerCase()}`)
    .where('status', '=', 'active')
    .returning(['id', 'email'])
    .execute();
  if (paused.length === 0) return 0;
  await raiseAlert(db, {
    clientId: pause.clientId,
    accountId: null,
    severity: 'critical',
    code: pause.alert?.code ?? 'sender_domain_auth_failed',
    entityKey: alertEntity.domain(pause.domain),
    message:
      pause.alert?.message(paused.length) ??
      `Sender domain ${pause.domain}: a receiving server refused its authentication (SPF / DKIM / DMARC); its ${paused.length} active mailbox(es) are paused until ${pause.until.toISOString()}. Fix the domain's DNS records.`,
    details: { domain: pause.domain, reason: pause.reason, accounts: paused.map((a) => a.email), ...pause.details },
    at: pause.now,
  });
  for (const account of paused) {
    await insertAudit(db, {
      clientId: pause.clientId,
      actorId: account.id,
      action: 'account.auto_paused',
      entityType: 'sender_account',
      entityId: account.id,
      details: { reason: pause.reason, domain: pause.domain, pausedUntil: pause.until.toISOString(), ...pause.details },
      now: pause.now,
    });
  }
  return paused.length;
}

/** A probe send went through: the account sends again and its health period restarts. */
export async function resumeAfterProbe(db: DbOrTx, accountId: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('sender_accounts')
    .set({ status: 'active', pause_reason: null, paused_until: null, probe_pending: false, consecutive_failures: 0, resumed_at: now, updated_at: now })
    .where('id', '=', accountId)
    .where('status', '=', 'paused')
    .where('probe_pending', '=', true)
    .returning(['client_id', 'email'])
    .executeTakeFirst();
  if (!row) return false;
  await resolveAccountAlerts(db, { clientId: row.client_id, accountId }, now);
  // A probe accepted proves the domain's authentication passes again: its domain alert is over
  // (the domain's other mailboxes resume on their own probes).
  await resolveAlerts(db, { clientId: row.client_id, entityKey: alertEntity.domain(row.email.split('@')[1] ?? ''), codes: ['sender_domain_auth_failed'], at: now });
  await insertAudit(db, { clientId: row.client_id, actorId: accountId, action: 'account.resumed', entityType: 'sender_account', entityId: accountId, details: { after: 'probe' }, now });
  return true;
}

/** Success resets the failure run; returns nothing to keep the accepted path one statement. */
export async function resetConsecutiveFailures(db: DbOrTx, accountId: string): Promise<void> {
  await db.updateTable('sender_accounts').set({ consecutive_failures: 0 }).where('id', '=', accountId).where('consecutive_failures', '>', 0).execute();
}

export async function incrementConsecutiveFailures(db: DbOrTx, accountId: string): Promise<number> {
  const row = await db
    .updateTable('sender_accounts')
    .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1) }))
    .where('id', '=', accountId)
    .returning('consecutive_failures')
    .executeTakeFirst();
  return row?.consecutive_failures ?? 0;
}

export async function setHealthScore(db: DbOrTx, accountId: string, score: number, deferralRatePct: number): Promise<void> {
  await db.updateTable('sender_accounts').set({ health_score: score.toFixed(2), deferral_rate_pct: deferralRatePct.toFixed(2) }).where('id', '=', accountId).execute();
}

export interface RecentSendStats {
  attempts: number;
  accepted: number;
  bounced: number;
  transient: number;
  auth: number;
  senderBlocked: number;
  complaints: number;
}

/**
 * Outcomes of the account's last `windowSends` attempts since `since` (its health period), and
 * complaints received since then. A hard bounce recorded later for an accepted send (inbound
 * DSN or ESP event, src/inbound/) counts that send as bounced.
 */
export async function recentSendStats(db: DbOrTx, accountId: string, since: Date, windowSends: number): Promise<RecentSendStats> {
  const result = await sql<RecentSendStats>`
    with recent as (
      select queue_id, outcome from send_logs
      where account_id = ${accountId} and created_at >= ${since}
        and outcome in ('accepted', 'transient', 'recipient_hard', 'recipient_soft', 'sender_reputation', 'sender_auth', 'auth')
      order by created_at desc limit ${windowSends}
    )
    select count(*)::int as attempts,
           count(*) filter (where outcome = 'accepted')::int as accepted,
           -- An accepted send whose hard bounce came back later (DSN, ESP event) bounced too.
           count(*) filter (where outcome = 'recipient_hard'
             or (outcome = 'accepted' and exists (select 1 from bounces b where b.queue_id = recent.queue_id and b.bounce_type = 'hard')))::int as bounced,
           count(*) filter (where outcome = 'transient')::int as transient,
           count(*) filter (where outcome = 'auth')::int as auth,
           count(*) filter (where outcome in ('sender_reputation', 'sender_auth'))::int as "senderBlocked",
           (select count(*)::int from complaints c where c.account_id = ${accountId} and c.received_at >= ${since}) as complaints
    from recent
  `.execute(db);
  return result.rows[0] ?? { attempts: 0, accepted: 0, bounced: 0, transient: 0, auth: 0, senderBlocked: 0, complaints: 0 };
}

export async function countComplaintsSince(db: DbOrTx, accountId: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('complaints')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .where('received_at', '>=', since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
