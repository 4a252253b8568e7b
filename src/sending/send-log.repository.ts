/** send_logs: one append-only row per attempt (the table refuses updates and deletes). */
import type { DbOrTx } from '../db/connection';
import type { SendOutcome } from '../db/database';

export interface SendLogEntry {
  queueId: number;
  clientId: string;
  campaignId: string;
  accountId: string | null;
  messageId: string;
  attempt: number;
  outcome: SendOutcome;
  code?: number;
  enhancedCode?: string;
  response?: string;
  providerMessageId?: string;
  durationMs?: number;
  /** The classification table's reason code. */
  reason?: string;
  at: Date;
}

export async function insertSendLogs(db: DbOrTx, entries: SendLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('send_logs')
    .values(
      entries.map((e) => ({
        queue_id: e.queueId,
        client_id: e.clientId,
        campaign_id: e.campaignId,
        account_id: e.accountId,
        message_id: e.messageId,
        attempt: e.attempt,
        outcome: e.outcome,
        smtp_code: e.code ?? null,
        enhanced_code: e.enhancedCode ?? null,
        response: e.response ?? null,
        provider_message_id: e.providerMessageId ?? null,
        duration_ms: e.durationMs ?? null,
        reason: e.reason ?? null,
        created_at: e.at,
      })),
    )
    .execute();
}
