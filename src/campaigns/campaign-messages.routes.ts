/** A campaign's queue rows, one by one, for inspection (campaign-messages.repository.ts). */
import { z } from 'zod';
import type { Db } from '../db/connection';
import type { QueueStatus } from '../db/database';
import { campaignAudit } from './campaign-audit';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { idParams } from '../http/validation';
import { listCampaignMessages, type MessageRow } from './campaign-messages.repository';
import { AppError } from '../http/app-error';
import { campaignOr404, LIVE_STATES } from './campaign.service';
import { resolveHeldRows } from './held-rows.service';

const QUEUE_STATUSES = ['queued', 'claimed', 'sending', 'sent', 'bounced', 'failed', 'unknown', 'held', 'suppressed', 'cancelled'] as const satisfies readonly QueueStatus[];
const OUTCOMES = ['accepted', 'transient', 'recipient_hard', 'recipient_soft', 'sender_reputation', 'sender_auth', 'auth', 'unknown', 'reconciled'] as const;

const messagesQuery = z.object({
  status: z.enum(QUEUE_STATUSES).optional(),
  step: z.coerce.number().int().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, 'not a cursor from this route (use nextCursor of the previous page)')
    .optional()
    .describe('nextCursor of the previous page; omit for the first page'),
});

const messageOut = z.object({
  id: z.number(),
  contactId: z.uuid(),
  email: z.string(),
  stepNumber: z.number(),
  status: z.enum(QUEUE_STATUSES),
  attempts: z.number(),
  runAfter: z.string(),
  lastError: z.string().nullable(),
  lastResult: z
    .object({
      outcome: z.enum(OUTCOMES),
      reason: z.string().nullable(),
      smtpCode: z.number().nullable(),
      enhancedCode: z.string().nullable(),
      at: z.string(),
    })
    .nullable()
    .describe('the classified result of the last send attempt, if any'),
  sentAt: z.string().nullable(),
  updatedAt: z.string(),
  accountId: z.uuid().nullable().describe('the mailbox that holds or sent the row; null while it waits in the sender pool'),
  accountEmail: z.string().nullable(),
  messageId: z.string(),
});

function present(row: MessageRow): z.infer<typeof messageOut> {
  return {
    id: row.id,
    contactId: row.contact_id,
    email: row.to_email,
    stepNumber: row.step_number,
    status: row.status,
    attempts: row.attempts,
    runAfter: row.run_after.toISOString(),
    lastError: row.last_error,
    lastResult:
      row.last_outcome && row.last_attempt_at
        ? { outcome: row.last_outcome, reason: row.last_reason, smtpCode: row.last_smtp_code, enhancedCode: row.last_enhanced_code, at: row.last_attempt_at.toISOString() }
        : null,
    sentAt: row.sent_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
    accountId: row.account_id,
    accountEmail: row.account_email,
    messageId: row.message_id,
  };
}

export function registerCampaignMessageRoutes(api: ApiRouter, db: Db, clock: () => Date = () => new Date()): void {
  const audit: RouteAudit<unknown> = campaignAudit(db);
  api.route({
    method: 'post',
    path: '/campaigns/:id/held/resolve',
    operationId: 'resolveHeldMessages',
    tag: 'campaigns',
    audit,
    summary:
      'Settle rows held for an operator (delivery could not be verified): "delivered" marks them sent and queues their follow-ups; "resend" sends them again with the same Message-ID. All held rows of the campaign, or the given ids',
    params: idParams,
    body: z
      .object({
        decision: z.enum(['delivered', 'resend']),
        ids: z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).min(1).max(10_000).optional().describe('queue row ids (GET /campaigns/:id/messages?status=held); all held rows when omitted'),
      })
      .strict(),
    status: 200,
    errors: [409],
    response: z.object({ settled: z.array(z.number()), notHeld: z.array(z.number()).describe('asked for but not held: already settled, or never held') }),
    handler: async ({ scope, params, body, auth }) => {
      const campaign = await campaignOr404(db, scope, params.id);
      // A cancelled or completed campaign sends nothing more: its held rows can only be settled as delivered.
      if (body.decision === 'resend' && !LIVE_STATES.includes(campaign.status)) {
        throw new AppError(409, 'invalid_state', `A ${campaign.status} campaign sends nothing more; settle its held rows as delivered instead`, { status: campaign.status });
      }
      return resolveHeldRows(db, { campaignId: campaign.id, clientId: campaign.client_id, ...(body.ids ? { ids: body.ids } : {}), decision: body.decision, userId: auth.userId, now: clock() });
    },
  });

  api.route({
    method: 'get',
    path: '/campaigns/:id/messages',
    operationId: 'listCampaignMessages',
    tag: 'campaigns',
    summary: 'The campaign’s queue rows (one per contact and step): status, attempts, last error, account, Message-ID; filter by status and step, paged by cursor',
    params: idParams,
    query: messagesQuery,
    response: z.object({ messages: z.array(messageOut), nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page') }),
    handler: async ({ scope, params, query }) => {
      const campaign = await campaignOr404(db, scope, params.id);
      const rows = await listCampaignMessages(db, campaign.id, campaign.client_id, {
        ...(query.status ? { status: query.status } : {}),
        ...(query.step ? { stepNumber: query.step } : {}),
        ...(query.cursor ? { afterId: Number(query.cursor) } : {}),
        // One more than asked: tells whether there is a next page without a count.
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return { messages: page.map(present), nextCursor: rows.length > query.limit && last ? String(last.id) : null };
    },
  });
}
