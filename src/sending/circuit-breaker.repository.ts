/** circuit_breakers rows: a run of consecutive failures per provider / recipient domain. */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export type BreakerScope = 'provider' | 'recipient_domain';

export async function openUntil(db: DbOrTx, scope: BreakerScope, scopeKey: string, now: Date): Promise<Date | undefined> {
  const row = await db
    .selectFrom('circuit_breakers')
    .select('opened_until')
    .where('scope', '=', scope)
    .where('scope_key', '=', scopeKey)
    .where('opened_until', '>', now)
    .executeTakeFirst();
  return row?.opened_until ?? undefined;
}

/** One more failure; opens the breaker for `openSeconds` once the run reaches `failuresToOpen`. */
export async function recordBreakerFailure(
  db: DbOrTx,
  scope: BreakerScope,
  scopeKey: string,
  now: Date,
  settings: { failuresToOpen: number; openSeconds: number },
): Promise<{ failures: number; openedUntil: Date | null }> {
  const until = new Date(now.getTime() + settings.openSeconds * 1000);
  const result = await sql<{ consecutive_failures: number; opened_until: Date | null }>`
    insert into circuit_breakers (scope, scope_key, consecutive_failures, opened_until, updated_at)
    values (${scope}, ${scopeKey}, 1, ${settings.failuresToOpen <= 1 ? until : null}, ${now})
    on conflict (scope, scope_key) do update
    set consecutive_failures = circuit_breakers.consecutive_failures + 1,
        opened_until = case when circuit_breakers.consecutive_failures + 1 >= ${settings.failuresToOpen} then ${until}::timestamptz
                            else circuit_breakers.opened_until end,
        updated_at = ${now}
    returning consecutive_failures, opened_until
  `.execute(db);
  const row = result.rows[0];
  return { failures: row?.consecutive_failures ?? 1, openedUntil: row?.opened_until ?? null };
}

/**
 * The statement that closes the breakers a success names (a no-op write is skipped), as a
 * fragment: the send journal runs it inside its one-statement write.
 */
export function closeBreakersStatement(keys: Array<{ scope: BreakerScope; scopeKey: string }>, now: Date) {
  return sql`
    update circuit_breakers b set consecutive_failures = 0, opened_until = null, updated_at = ${now}
    from unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.scopeKey)}::text[]) as k(scope, scope_key)
    where b.scope = k.scope and b.scope_key = k.scope_key and (b.consecutive_failures > 0 or b.opened_until is not null)
    returning 1`;
}

/** A success closes the breakers it names. */
export async function recordBreakerSuccess(db: DbOrTx, keys: Array<{ scope: BreakerScope; scopeKey: string }>, now: Date): Promise<void> {
  if (keys.length === 0) return;
  await closeBreakersStatement(keys, now).execute(db);
}
