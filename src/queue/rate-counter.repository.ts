/**
 * rate_counters: one row per (scope, key, window). A reservation is a conditional increment
 * (`… do update … where count + n <= limit`) under the row lock, so two transactions can never
 * both take the last unit. Reservations and releases each take their counter locks in one
 * statement in key order, so they never deadlock each other.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { counterId, type CounterKey } from '../sending/limits';

const MAX_COUNT = 2_147_483_647;

/** Current counts of the given keys (missing rows are 0), by counterId. */
export async function readCounts(db: DbOrTx, keys: CounterKey[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (keys.length === 0) return counts;
  const result = await sql<{ scope: string; scope_key: string; window_kind: string; window_start: Date; count: number }>`
    select r.scope, r.scope_key, r.window_kind, r.window_start, r.count
    from rate_counters r
    join unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.scopeKey)}::text[], ${keys.map((k) => k.windowKind)}::text[],
                ${keys.map((k) => k.windowStart.toISOString())}::timestamptz[]) as k(scope, scope_key, window_kind, window_start)
      on r.scope = k.scope and r.scope_key = k.scope_key and r.window_kind = k.window_kind and r.window_start = k.window_start
  `.execute(db);
  for (const row of result.rows) {
    counts.set(counterId({ scope: row.scope as CounterKey['scope'], scopeKey: row.scope_key, windowKind: row.window_kind as CounterKey['windowKind'], windowStart: new Date(row.window_start) }), row.count);
  }
  return counts;
}

export interface Reservation {
  key: CounterKey;
  amount: number;
  /** Infinity = counted, not limited. */
  limit: number;
}

const capOf = (limit: number) => (Number.isFinite(limit) ? Math.min(limit, MAX_COUNT) : MAX_COUNT);

function unnestInput(items: Array<{ key: CounterKey; amount: number; limit?: number }>) {
  return sql`unnest(
    ${items.map((i) => i.key.scope)}::text[], ${items.map((i) => i.key.scopeKey)}::text[], ${items.map((i) => i.key.windowKind)}::text[],
    ${items.map((i) => i.key.windowStart.toISOString())}::timestamptz[], ${items.map((i) => i.amount)}::int[],
    ${items.map((i) => capOf(i.limit ?? Infinity))}::int[]
  ) as i(scope, scope_key, window_kind, window_start, amount, lim)`;
}

/**
 * Adds every reservation in ONE statement, taking the counter row locks in key order. A
 * counter that would pass its limit is left unchanged and the call returns false: the caller
 * must roll its transaction back (the other counters of the statement were incremented).
 * Callers check the amounts against counts read first, so a new counter row never starts
 * above its limit.
 */
export async function reserveCounters(db: DbOrTx, reservations: Reservation[]): Promise<boolean> {
  if (reservations.length === 0) return true;
  if (reservations.some((r) => r.amount > capOf(r.limit))) return false;
  const result = await sql<{ n: number }>`
    with input as (select * from ${unnestInput(reservations)}),
    applied as (
      insert into rate_counters as r (scope, scope_key, window_kind, window_start, count)
      select scope, scope_key, window_kind, window_start, amount from input
      order by scope, scope_key, window_kind, window_start
      on conflict (scope, scope_key, window_kind, window_start)
      do update set count = r.count + excluded.count
      where r.count + excluded.count <= (
        select i.lim from input i
        where i.scope = excluded.scope and i.scope_key = excluded.scope_key and i.window_kind = excluded.window_kind and i.window_start = excluded.window_start
      )
      returning 1
    )
    select count(*)::int as n from applied
  `.execute(db);
  return (result.rows[0]?.n ?? 0) === reservations.length;
}

/** Adds `amount` to one counter unless that would pass `limit`; false when it would. */
export async function reserveCounter(db: DbOrTx, key: CounterKey, amount: number, limit: number): Promise<boolean> {
  return reserveCounters(db, [{ key, amount, limit }]);
}

/** Takes back reservations of rows that went back unsent; locks in key order, one statement. */
export async function releaseCounters(db: DbOrTx, keys: CounterKey[]): Promise<void> {
  if (keys.length === 0) return;
  const amounts = new Map<string, { key: CounterKey; amount: number }>();
  for (const key of keys) {
    const id = counterId(key);
    const entry = amounts.get(id);
    if (entry) entry.amount += 1;
    else amounts.set(id, { key, amount: 1 });
  }
  const items = [...amounts.values()];
  await sql`
    with input as (select * from ${unnestInput(items)}),
    locked as (
      select r.scope, r.scope_key, r.window_kind, r.window_start, i.amount
      from rate_counters r
      join input i on i.scope = r.scope and i.scope_key = r.scope_key and i.window_kind = r.window_kind and i.window_start = r.window_start
      order by r.scope, r.scope_key, r.window_kind, r.window_start
      for update of r
    )
    update rate_counters r set count = greatest(r.count - l.amount, 0)
    from locked l
    where r.scope = l.scope and r.scope_key = l.scope_key and r.window_kind = l.window_kind and r.window_start = l.window_start
  `.execute(db);
}

/** Drops counters whose window started before `before` (housekeeping). */
export async function deleteCountersBefore(db: DbOrTx, before: Date): Promise<number> {
  const result = await db.deleteFrom('rate_counters').where('window_start', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
