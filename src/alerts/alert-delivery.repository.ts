/** The alert_deliveries outbox: claimed under a lease like lead_deliveries (src/sponsors/lead.repository.ts). */
import { sql, type Selectable } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { AlertChannelsTable, AlertsTable } from '../db/database';

export interface ClaimedAlertDelivery {
  id: number;
  channelId: string;
  alertId: number | null;
  event: 'raised' | 'resolved' | 'test';
  leaseToken: string;
  attempts: number;
}

export async function claimDueAlertDeliveries(db: DbOrTx, now: Date, limit: number, leaseMs: number): Promise<ClaimedAlertDelivery[]> {
  const { rows } = await sql<{ id: number; channel_id: string; alert_id: number | null; event: ClaimedAlertDelivery['event']; lease_token: string; attempts: number }>`
    update alert_deliveries d
    set status = 'delivering', lease_token = gen_random_uuid(), attempts = d.attempts + 1,
        lease_expires_at = ${now.toISOString()}::timestamptz + make_interval(secs => ${leaseMs / 1000})
    where d.id in (
      select id from alert_deliveries
      -- Messages are enqueued on the database's clock (alerts.ts): due by it too, whatever the pass's clock says.
      where (status = 'pending' and next_attempt_at <= greatest(${now.toISOString()}::timestamptz, now()))
         or (status = 'delivering' and lease_expires_at <= ${now.toISOString()}::timestamptz)
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked)
    returning d.id, d.channel_id, d.alert_id, d.event, d.lease_token, d.attempts`.execute(db);
  return rows
    .map((r) => ({ id: Number(r.id), channelId: r.channel_id, alertId: r.alert_id === null ? null : Number(r.alert_id), event: r.event, leaseToken: r.lease_token, attempts: r.attempts }))
    .sort((a, b) => a.id - b.id);
}

export interface AlertDeliveryContent {
  channel: Selectable<AlertChannelsTable>;
  alert: Selectable<AlertsTable> | undefined;
}

export async function loadAlertDeliveryContent(db: DbOrTx, claim: ClaimedAlertDelivery): Promise<AlertDeliveryContent | undefined> {
  const channel = await db.selectFrom('alert_channels').selectAll().where('id', '=', claim.channelId).executeTakeFirst();
  if (!channel) return undefined;
  const alert = claim.alertId === null ? undefined : await db.selectFrom('alerts').selectAll().where('id', '=', claim.alertId).executeTakeFirst();
  return { channel, alert };
}

/** Messages the channel was sent in the hour before `now` (its rate limit). */
export async function deliveredInLastHour(db: DbOrTx, channelId: string, now: Date): Promise<number> {
  const row = await db
    .selectFrom('alert_deliveries')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('channel_id', '=', channelId)
    .where('status', '=', 'delivered')
    .where('delivered_at', '>', new Date(now.getTime() - 3_600_000))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

type Finish = { status: 'delivered'; at: Date } | { status: 'rate_limited'; error: string } | { status: 'pending' | 'failed'; error: string; nextAttemptAt: Date | null };

/** Records a claim's outcome under its lease; false when the lease was lost. */
export async function finishAlertDelivery(db: DbOrTx, claim: ClaimedAlertDelivery, finish: Finish): Promise<boolean> {
  const result = await db
    .updateTable('alert_deliveries')
    .set({
      status: finish.status,
      lease_token: null,
      lease_expires_at: null,
      ...(finish.status === 'delivered' ? { delivered_at: finish.at, last_error: null } : { last_error: finish.error.slice(0, 1000) }),
      ...(finish.status === 'pending' && finish.nextAttemptAt ? { next_attempt_at: finish.nextAttemptAt } : {}),
    })
    .where('id', '=', claim.id)
    .where('lease_token', '=', claim.leaseToken)
    .where('status', '=', 'delivering')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function enqueueTestDelivery(db: DbOrTx, channelId: string): Promise<number> {
  const row = await db.insertInto('alert_deliveries').values({ channel_id: channelId, alert_id: null, event: 'test' }).returning('id').executeTakeFirstOrThrow();
  return Number(row.id);
}
