/** Everything buildMessage needs for claimed rows, in one query per batch. */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { BuildMessageInput } from './message-builder';
import { renderTemplate } from './template';

export type MessageContext = Omit<BuildMessageInput, 'signer' | 'linkIds' | 'account'>;

interface ContextRow {
  queue_id: number;
  message_id: string;
  to_email: string;
  client_id: string;
  client_name: string;
  postal_address: string;
  campaign_id: string;
  track_opens: boolean;
  track_clicks: boolean;
  step_id: string;
  step_number: number;
  subject: string;
  body_html: string;
  body_text: string;
  email: string;
  first_name: string;
  last_name: string;
  company: string;
  custom_fields: Record<string, string>;
  thread_ids: string[] | null;
  thread_subject_template: string | null;
  thread_first_message_id: string | null;
}

export async function loadMessageContexts(db: DbOrTx, queueIds: number[]): Promise<Map<number, MessageContext>> {
  const contexts = new Map<number, MessageContext>();
  if (queueIds.length === 0) return contexts;
  const result = await sql<ContextRow>`
    select q.id as queue_id, q.message_id, q.to_email,
           cl.id as client_id, cl.name as client_name, cl.postal_address,
           c.id as campaign_id, c.track_opens, c.track_clicks,
           s.id as step_id, s.step_number, s.subject, s.body_html, s.body_text,
           ct.email, ct.first_name, ct.last_name, ct.company, ct.custom_fields,
           case when q.step_number > 1 then (
             select array_agg(p.message_id order by p.step_number) from email_queue p
             where p.campaign_id = q.campaign_id and p.contact_id = q.contact_id and p.step_number < q.step_number and p.status = 'sent'
           ) end as thread_ids,
           case when q.step_number > 1 then (
             select first.subject from email_queue p join sequence_steps first on first.id = p.step_id
             where p.campaign_id = q.campaign_id and p.contact_id = q.contact_id and p.step_number = 1
           ) end as thread_subject_template,
           case when q.step_number > 1 then (
             select p.message_id from email_queue p where p.campaign_id = q.campaign_id and p.contact_id = q.contact_id and p.step_number = 1
           ) end as thread_first_message_id
    from email_queue q
    join clients cl on cl.id = q.client_id
    join campaigns c on c.id = q.campaign_id
    join sequence_steps s on s.id = q.step_id
    join contacts ct on ct.id = q.contact_id
    where q.id = any(${queueIds}::bigint[])
  `.execute(db);
  for (const r of result.rows) {
    const threadIds = r.thread_ids ?? [];
    const last = threadIds[threadIds.length - 1];
    contexts.set(r.queue_id, {
      client: { id: r.client_id, name: r.client_name, postal_address: r.postal_address },
      campaign: { id: r.campaign_id, track_opens: r.track_opens, track_clicks: r.track_clicks },
      step: { id: r.step_id, step_number: r.step_number, subject: r.subject, body_html: r.body_html, body_text: r.body_text },
      contact: { email: r.email, first_name: r.first_name, last_name: r.last_name, company: r.company, custom_fields: r.custom_fields },
      queue: { id: r.queue_id, message_id: r.message_id, to_email: r.to_email },
      ...(last
        ? {
            thread: {
              inReplyTo: last,
              references: threadIds,
              // The first step's subject as that contact received it (same fields, same spintax seed).
              ...(r.thread_subject_template && r.thread_first_message_id
                ? { subject: renderTemplate(r.thread_subject_template, { email: r.email, first_name: r.first_name, last_name: r.last_name, company: r.company, custom_fields: r.custom_fields ?? {} }, { seed: r.thread_first_message_id }) }
                : {}),
            },
          }
        : {}),
    });
  }
  return contexts;
}
