/**
 * The send outcome classes of the one classification table (src/bounces/): "recipient_permanent"
 * becomes "recipient_hard" (suppress), "sender_blocked" becomes "sender_reputation" (pause or
 * slow the mailbox), and two classes are new: "recipient_soft" (mailbox full, unrecognised
 * failures: retried, never suppressed) and "sender_auth" (SPF / DKIM / DMARC refused: the whole
 * sender domain stops). send_logs also keeps the table's reason code for each result.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table send_logs drop constraint send_logs_outcome_check;
    -- Send history is append-only; renaming two classes changes no fact it records.
    alter table send_logs disable trigger send_logs_append_only;
    update send_logs set outcome = 'recipient_hard' where outcome = 'recipient_permanent';
    update send_logs set outcome = 'sender_reputation' where outcome = 'sender_blocked';
    alter table send_logs enable trigger send_logs_append_only;
    alter table send_logs add constraint send_logs_outcome_check check (outcome in
      ('accepted', 'transient', 'recipient_hard', 'recipient_soft', 'sender_reputation', 'sender_auth', 'auth', 'unknown', 'reconciled'));
    alter table send_logs add column reason text;
    update sender_accounts set pause_reason = 'sender_reputation' where pause_reason = 'sender_blocked';
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0009_outcome_classes cannot be rolled back');
}
