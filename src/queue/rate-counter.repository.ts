/**
 * rate_counters: one row per (scope, key, window). A reservation is a conditional increment
 * (`… do update … where count + n <= limit`) under the row lock, so two transactions can never
 * both take the last unit. Every transaction takes counter locks in compareCounterKeys order,
 * so reservers and releasers never deadlock each other.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { compareCounterKeys, counterId, type CounterKey } from '../sending/limits';

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

/** Adds `amount` to the counter unless that would pass `limit`; false when it would. */
export async function reserveCounter(db: DbOrTx, key: CounterKey, amount: number, limit: number): Promise<boolean> {
  const cap = Number.isFinite(limit) ? Math.min(limit, MAX_COUNT) : MAX_COUNT;
  if (amount > cap) return false;
  const result = await sql<{ count: number }>`
    insert into rate_counters (scope, scope_key, window_kind, window_start, count)
    values (${key.scope}, ${key.scopeKey}, ${key.windowKind}, ${key.windowStart}, ${amount})
    on conflict (scope, scope_key, window_kind, window_start)
    do update set count = rate_counters.count + excluded.count
    where rate_counters.count + excluded.count <= ${cap}
    returning count
  `.execute(db);
  return result.rows.length === 1;
}

/** Takes back reservations of rows that went back unsent, in lock order. */
export async function releaseCounters(db: DbOrTx, keys: CounterKey[]): Promise<void> {
  const amounts = new Map<string, { key: CounterKey; amount: number }>();
  for (const key of keys) {
    const id = counterId(key);
    const entry = amounts.get(id);
    if (entry) entry.amount += 1;
    else amounts.set(id, { key, amount: 1 });
  }
  const sorted = [...amounts.values()].sort((a, b) => compareCounterKeys(a.key, b.key));
  for (const { key, amount } of sorted) {
    await sql`
      update rate_counters set count = greatest(count - ${amount}, 0)
      where scope = ${key.scope} and scope_key = ${key.scopeKey} and window_kind = ${key.windowKind} and window_start = ${key.windowStart}
    `.execute(db);
  }
}

/** Drops counters whose window started before `before` (housekeeping). */
export async function deleteCountersBefore(db: DbOrTx, before: Date): Promise<number> {
  const result = await db.deleteFrom('rate_counters').where('window_start', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
