/**
 * Erasure of a person (GDPR art. 17 / CCPA deletion requests): their address removed from
 * every table that can hold it, for one client or (the owner) for all, in one transaction.
 *
 * What goes: the contact and its campaign memberships, its queue rows, the open and click
 * events of those rows (IP, user agent), bounces, complaints and replies from or about the
 * address, inbound messages and ESP webhook bodies that name it, sponsor leads, the dev sink's
 * captured mail. What is rewritten: send_logs' SMTP answers that quote it (send_logs stays
 * append-only; see migration 0026 for the one narrow exception), and audit and alert texts
 * that name it (the address becomes "[erased]"; the rows, which say what was done, stay).
 * What stays: send_logs rows (they hold no address: ids, codes, timings) so the history's
 * counts still add up, and one suppression row per client holding 'erased:<keyed hash>' so
 * the address is never mailed or imported again (suppression_keys() in every check).
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection';
import { addressHash, erasedSuppressionKey } from './address-hash';

export interface ErasureRequest {
  email: string;
  /** null: every client (owner only). */
  clientId: string | null;
}

export interface ErasureActor {
  type: 'user' | 'system';
  id: string | null;
}

export type ErasureCounts = Record<string, number>;

export interface ErasureResult {
  addressHash: string;
  clients: number;
  counts: ErasureCounts;
}

/** The literal address as a case-insensitive regular expression (for regexp_replace). */
function addressPattern(address: string): string {
  return address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function eraseAddress(db: Db, key: Buffer, request: ErasureRequest, actor: ErasureActor): Promise<ErasureResult> {
  const address = request.email.trim().toLowerCase();
  const hash = addressHash(key, address);
  return db.transaction().execute(async (tx) => {
    // The one permission to rewrite send_logs' response text, for this transaction only.
    await sql`set local outreach.erasure = 'on'`.execute(tx);
    const clientIds = request.clientId
      ? [request.clientId]
      : (await tx.selectFrom('clients').select('id').execute()).map((c) => c.id);
    const inScope = (column: string) => (request.clientId ? sql<boolean>`${sql.ref(column)} = ${request.clientId}` : sql<boolean>`true`);
    const counts: ErasureCounts = {};
    const run = async (name: string, query: ReturnType<typeof sql>) => {
      const result = await query.execute(tx);
      counts[name] = (counts[name] ?? 0) + Number(result.numAffectedRows ?? 0n);
    };
    // Text of any column, lower-cased, contains the address (jsonb and bytea through their text form).
    const names = (expression: ReturnType<typeof sql>) => sql`position(${address} in lower(${expression})) > 0`;

    const contactIds = (
      await tx.selectFrom('contacts').select('id').where('email', '=', address).where(inScope('client_id')).execute()
    ).map((c) => c.id);
    const queueIds = (
      await sql<{ id: number }>`
        select id from email_queue where ${inScope('client_id')} and (contact_id = any(${contactIds}::uuid[]) or to_email = ${address})`.execute(tx)
    ).rows.map((r) => r.id);

    await run('open_events', sql`delete from open_events where queue_id = any(${queueIds}::bigint[])`);
    await run('click_events', sql`delete from click_events where queue_id = any(${queueIds}::bigint[])`);
    await run('bounces', sql`delete from bounces where ${inScope('client_id')} and (queue_id = any(${queueIds}::bigint[]) or lower(email) = ${address} or ${names(sql`coalesce(diagnostic, '')`)})`);
    await run('complaints', sql`delete from complaints where ${inScope('client_id')} and (queue_id = any(${queueIds}::bigint[]) or lower(email) = ${address})`);
    await run(
      'replies',
      sql`delete from replies where ${inScope('client_id')} and (queue_id = any(${queueIds}::bigint[]) or contact_id = any(${contactIds}::uuid[])
        or lower(from_email) = ${address} or ${names(sql`subject || ' ' || snippet`)})`,
    );
    await run(
      'inbound_messages',
      sql`delete from inbound_messages where ${request.clientId ? sql`client_id = ${request.clientId}` : sql`true`}
        and (queue_id = any(${queueIds}::bigint[]) or contact_id = any(${contactIds}::uuid[])
          or lower(from_address) = ${address} or lower(to_address) = ${address}
          or ${names(sql`concat_ws(' ', subject, evidence, text, headers::text, classification::text, effects::text, history::text, reason)`)}
          or (raw is not null and ${names(sql`encode(raw, 'escape')`)}))`,
    );
    await run('webhook_deliveries', sql`delete from webhook_deliveries where ${inScope('client_id')} and ${names(sql`encode(body, 'escape')`)}`);
    await run('leads', sql`delete from leads where ${inScope('client_id')} and (lower(email) = ${address} or ${names(sql`data::text`)})`);
    // The dev sink belongs to no client: mail to or naming the address goes whoever erases it.
    await run(
      'sink_messages',
      sql`delete from sink_messages where ${address} = any(select lower(r) from unnest(rcpt_to) r) or lower(mail_from) = ${address} or ${names(sql`subject`)} or ${names(sql`raw`)}`,
    );
    const pattern = addressPattern(address);
    await run(
      'send_logs_redacted',
      sql`update send_logs set response = regexp_replace(response, ${pattern}, '[erased]', 'gi')
        where ${inScope('client_id')} and response is not null and ${names(sql`response`)}`,
    );
    await run('email_queue', sql`delete from email_queue where id = any(${queueIds}::bigint[])`);
    await run('campaign_contacts', sql`delete from campaign_contacts where contact_id = any(${contactIds}::uuid[])`);
    await run('contacts', sql`delete from contacts where id = any(${contactIds}::uuid[])`);
    await redactTexts(run, inScope, address, pattern);
    await run('suppressions', sql`delete from suppressions where ${inScope('client_id')} and email = ${address}`);
    const erasedKey = erasedSuppressionKey(key, address);
    await run(
      'suppressions_hashed',
      sql`insert into suppressions (client_id, email, reason, source)
        select id, ${erasedKey}, 'manual', 'erasure' from unnest(${clientIds}::uuid[]) as id
        on conflict (client_id, email) do nothing`,
    );
    await tx
      .insertInto('audit_log')
      .values({
        client_id: request.clientId,
        actor_type: actor.type,
        actor_id: actor.id,
        action: 'contact.erased',
        entity_type: 'contact',
        entity_id: erasedKey,
        details: JSON.stringify({ addressHash: hash, scope: request.clientId ? 'client' : 'all_clients', clients: clientIds.length, counts }),
      })
      .execute();
    return { addressHash: hash, clients: clientIds.length, counts };
  });
}

/** Audit and alert rows stay (they say what happened) with the address cut out of their text. */
async function redactTexts(
  run: (name: string, query: ReturnType<typeof sql>) => Promise<void>,
  inScope: (column: string) => ReturnType<typeof sql>,
  address: string,
  pattern: string,
): Promise<void> {
  const jsonRedacted = (column: string) => sql`case when ${sql.ref(column)} is null then null else regexp_replace(${sql.ref(column)}::text, ${pattern}, '[erased]', 'gi')::jsonb end`;
  const textRedacted = (column: string) => sql`regexp_replace(${sql.ref(column)}, ${pattern}, '[erased]', 'gi')`;
  const anyNames = (columns: string[]) => sql`position(${address} in lower(concat_ws(' ', ${sql.join(columns.map((c) => sql`${sql.ref(c)}::text`))}))) > 0`;
  await run(
    'audit_log_redacted',
    sql`update audit_log set details = ${jsonRedacted('details')}, before = ${jsonRedacted('before')}, after = ${jsonRedacted('after')},
        changes = ${jsonRedacted('changes')}, path = ${textRedacted('path')}, entity_id = ${textRedacted('entity_id')}
      where ${inScope('client_id')} and ${anyNames(['details', 'before', 'after', 'changes', 'path', 'entity_id'])}`,
  );
  await run(
    'alerts_redacted',
    sql`update alerts set message = ${textRedacted('message')}, details = ${jsonRedacted('details')}, entity_key = ${textRedacted('entity_key')}
      where ${inScope('client_id')} and ${anyNames(['message', 'details', 'entity_key'])}`,
  );
}
