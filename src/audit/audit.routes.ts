/**
 * GET /api/audit: the audit trail, newest first. The owner reads every client's rows (and the
 * ones of no client: logins, owner-only settings), or one client's with ?clientId=; a client
 * admin reads its own client's; a viewer is refused (the trail names people and shows settings).
 */
import { z } from 'zod';
import type { Db } from '../db/connection';
import type { ApiRouter } from '../http/api-router';
import { AppError } from '../http/app-error';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { listAuditRows, type AuditRow } from './audit.repository';

const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

const auditQuery = pageQuery
  .extend({
    actor: z.string().min(1).max(254).optional().describe('User id, sponsor id or e-mail of who acted'),
    action: z.string().min(1).max(100).optional().describe("The route's operationId (updateAccount) or an automatic action (account.paused)"),
    target: z.string().min(1).max(200).optional().describe("The target's id"),
    from: instant.optional().describe('Rows at or after this instant (ISO 8601 with offset)'),
    to: instant.optional().describe('Rows before this instant'),
  })
  .strict();

const auditOut = z.object({
  id: z.number().int(),
  at: z.string(),
  clientId: z.uuid().nullable(),
  actor: z.object({
    type: z.enum(['user', 'system', 'worker', 'sponsor']),
    id: z.string().nullable(),
    email: z.string().nullable(),
    role: z.string().nullable(),
  }),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  method: z.string().nullable(),
  path: z.string().nullable(),
  status: z.number().int().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  before: z.unknown().describe('The target before the change (settings routes), secrets redacted'),
  after: z.unknown().describe('The target after the change'),
  changes: z.unknown().describe('The request body, secrets redacted'),
  details: z.record(z.string(), z.unknown()).describe('What automatic actions recorded'),
});

const present = (row: AuditRow): z.infer<typeof auditOut> => ({
  id: row.id,
  at: row.created_at.toISOString(),
  clientId: row.client_id,
  actor: { type: row.actor_type, id: row.actor_id, email: row.actor_email, role: row.actor_role },
  action: row.action,
  targetType: row.entity_type,
  targetId: row.entity_id,
  method: row.method,
  path: row.path,
  status: row.status,
  ip: row.ip,
  userAgent: row.user_agent,
  before: row.before,
  after: row.after,
  changes: row.changes,
  details: row.details,
});

export function registerAuditRoutes(api: ApiRouter, db: Db): void {
  api.route({
    method: 'get',
    path: '/audit',
    operationId: 'listAuditLog',
    tag: 'audit',
    summary: 'The audit trail: who changed what, when and from where (filter by actor, action, target, period and ?clientId=)',
    access: 'write',
    query: auditQuery,
    response: pagedResponse('entries', auditOut),
    handler: async ({ scope, query }) => {
      if (query.from && query.to && query.from > query.to) {
        throw new AppError(400, 'validation_failed', '`from` is after `to`', { issues: [{ path: 'from', message: 'must not be after to' }] });
      }
      return paged('entries', query, await listAuditRows(db, scope, query), present);
    },
  });
}
