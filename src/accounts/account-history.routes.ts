/**
 * A mailbox's past for its console page: recent send attempts with the receiver's reply codes,
 * and its figures per day (account-history.repository.ts says what each counts). Scoped like
 * every account read: another client's mailbox is a 404.
 */
import { z } from 'zod';
import type { Db } from '../db/connection';
import type { ApiRouter } from '../http/api-router';
import { AppError } from '../http/app-error';
import { idParams } from '../http/validation';
import { accountDays, recentSendAttempts } from './account-history.repository';
import { getAccount } from './account.repository';

const DAY_MS = 86_400_000;

const sendOut = z.object({
  id: z.number(),
  at: z.string(),
  recipient: z.string().nullable(),
  campaignId: z.uuid(),
  queueId: z.number(),
  attempt: z.number(),
  outcome: z.string().describe('Class: accepted, transient, recipient_hard, recipient_soft, sender_reputation, sender_auth, auth, unknown, reconciled'),
  reason: z.string().nullable(),
  code: z.number().nullable().describe('SMTP reply code'),
  enhancedCode: z.string().nullable().describe('RFC 3463 enhanced status code'),
  response: z.string().nullable().describe("The receiver's answer as text (show it as text, never as markup)"),
});

const dayOut = z.object({
  day: z.string(),
  sent: z.number(),
  deferred: z.number(),
  failed: z.number(),
  bounced: z.number(),
  replied: z.number(),
  complained: z.number(),
});

export function registerAccountHistoryRoutes(api: ApiRouter, db: Db, clock: () => Date = () => new Date()): void {
  const accountInScope = async (scope: Parameters<typeof getAccount>[1], id: string) => {
    const account = await getAccount(db, scope, id);
    if (!account) throw new AppError(404, 'not_found', 'Account not found');
    return account;
  };

  api.route({
    method: 'get',
    path: '/accounts/:id/sends',
    operationId: 'listAccountSends',
    tag: 'accounts',
    summary: 'Latest send attempts of a sender account, newest first: recipient, outcome class, SMTP and enhanced codes, response',
    params: idParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
    response: z.object({ sends: z.array(sendOut) }),
    handler: async ({ scope, params, query }) => {
      const account = await accountInScope(scope, params.id);
      const rows = await recentSendAttempts(db, account.id, query.limit);
      return {
        sends: rows.map((r) => ({
          id: r.id,
          at: r.created_at.toISOString(),
          recipient: r.to_email,
          campaignId: r.campaign_id,
          queueId: r.queue_id,
          attempt: r.attempt,
          outcome: r.outcome,
          reason: r.reason,
          code: r.smtp_code,
          enhancedCode: r.enhanced_code,
          response: r.response,
        })),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/accounts/:id/history',
    operationId: 'getAccountHistory',
    tag: 'accounts',
    summary: 'Figures of a sender account per UTC day (sent, deferred, failed, bounced, replied, complained) over the last `days` days',
    params: idParams,
    query: z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }),
    response: z.object({ days: z.array(dayOut) }),
    handler: async ({ scope, params, query }) => {
      const account = await accountInScope(scope, params.id);
      const now = clock();
      const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (query.days - 1) * DAY_MS);
      return { days: await accountDays(db, account.id, from, now) };
    },
  });
}
