/**
 * Bulk changes from the console's fleet table: pause, resume or change the limits of many
 * mailboxes in one request. Each change is checked as PATCH /api/accounts/:id checks it (the
 * same field schemas; resuming needs the address's domain to be a sender domain of the
 * account's client), all of it in one transaction, and the answer says per id what happened.
 * An id outside the caller's scope (another client's mailbox, or none) is `not_found`, exactly
 * like an id that does not exist, so a client admin learns nothing about other clients.
 */
import { z } from 'zod';
import { resolveAccountAlerts } from '../alerts/alerts';
import { scopeOf } from '../auth/client-scope';
import { emailDomain } from '../contacts/email-address';
import type { Db } from '../db/connection';
import { findDomainsByName } from '../domains/domain.repository';
import type { ApiRouter } from '../http/api-router';
import { uuid } from '../http/validation';
import { activationDate } from './account-warmup';
import { getAccount, updateAccount } from './account.repository';
import { updateAccountBody } from './account.schemas';
import { domainProblem } from './account.service';

/** As many as the fleet has mailboxes (the design's ~1,200), with room. */
export const BULK_MAX_IDS = 2000;

const bulkChanges = updateAccountBody
  .pick({ dailyLimit: true, hourlyLimit: true, minGapSeconds: true })
  .extend({ status: z.enum(['active', 'paused']).optional().describe('active resumes (its alerts resolve), paused stops it') })
  .strict()
  .refine((changes) => Object.keys(changes).length > 0, { message: 'name at least one change: status, dailyLimit, hourlyLimit or minGapSeconds' });

export const bulkAccountBody = z
  .object({
    ids: z
      .array(uuid)
      .min(1)
      .max(BULK_MAX_IDS)
      .refine((ids) => new Set(ids).size === ids.length, { message: 'each id once' }),
    changes: bulkChanges,
  })
  .strict();

const resultOut = z.object({
  id: z.uuid(),
  result: z.enum(['updated', 'not_found', 'refused']),
  error: z.object({ code: z.string(), message: z.string() }).optional().describe('Why this one was not changed'),
});

export function registerAccountBulkRoute(api: ApiRouter, db: Db, clock: () => Date = () => new Date()): void {
  api.route({
    method: 'post',
    path: '/accounts/bulk',
    operationId: 'bulkUpdateAccounts',
    tag: 'accounts',
    summary: `Pause, resume or change the limits (daily, hourly, minimum gap) of up to ${BULK_MAX_IDS} sender accounts at once, in one transaction; answers per id`,
    body: bulkAccountBody,
    status: 200,
    response: z.object({ updated: z.number().int(), results: z.array(resultOut) }),
    handler: async ({ scope, body }) => {
      const now = clock();
      const { changes } = body;
      const results = await db.transaction().execute(async (tx) => {
        const out: Array<z.infer<typeof resultOut>> = [];
        for (const id of body.ids) {
          const existing = await getAccount(tx, scope, id);
          if (!existing) {
            out.push({ id, result: 'not_found', error: { code: 'not_found', message: 'Account not found' } });
            continue;
          }
          if (changes.status === 'active') {
            // The rule PATCH applies: an account sends only from a sender domain of its own client.
            const problem = domainProblem(existing.email, await findDomainsByName(tx, existing.client_id, [emailDomain(existing.email)]));
            if (problem) {
              out.push({ id, result: 'refused', error: { code: problem.code, message: problem.issue.message } });
              continue;
            }
          }
          const own = scopeOf(existing.client_id);
          await updateAccount(tx, own, id, { ...changes, ...(changes.status === 'active' ? { activatedOn: activationDate(now, existing.time_zone) } : {}) }, now);
          if (changes.status === 'active') await resolveAccountAlerts(tx, { clientId: existing.client_id, accountId: id }, now);
          out.push({ id, result: 'updated' });
        }
        return out;
      });
      return { updated: results.filter((r) => r.result === 'updated').length, results };
    },
  });
}
