/**
 * Writes the audit row of one successful API write (ApiRouter calls it for every non-GET
 * route it registers, unless the route opts out with a reason). The row is written right after
 * the handler, not in its transaction: handlers own their transactions, and a failed audit
 * insert must never undo (or fail) a change that has been made — it is logged as an error
 * instead, with what would have been written, so the gap is visible.
 */
import type { Request } from 'express';
import type { AuthContext } from '../auth/auth.service';
import type { ClientScope } from '../auth/client-scope';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { getSponsorCaller } from '../sponsors/sponsor-auth.middleware';
import { insertApiAuditRow, type NewApiAuditRow } from './audit.repository';
import { redactForAudit } from './audit-redaction';

export interface AuditEntry {
  req: Request;
  /** The status answered (2xx). */
  status: number;
  operationId: string;
  tag: string;
  method: string;
  /** 'bearer': signed-in user; 'sponsorKey': sponsor API key; 'public': no credentials (login). */
  caller: 'bearer' | 'sponsorKey' | 'public';
  auth: AuthContext | undefined;
  scope: ClientScope;
  params: Record<string, unknown>;
  body: unknown;
  result: unknown;
  targetId: string | null;
  before: unknown;
  after: unknown;
  /** The client the target belongs to, when the route knows it better than the rows do (a client itself). */
  clientId?: string | null;
}

export interface AuditRecorder {
  record(entry: AuditEntry): Promise<void>;
  /** Logs a failure of the route's state loader: the change goes on, its row has less in it. */
  loaderFailed(operationId: string, error: unknown): void;
}

const MAX_USER_AGENT_CHARS = 500;

export function createAuditRecorder(db: Db, logger: Logger): AuditRecorder {
  return {
    async record(entry) {
      let row: NewApiAuditRow | undefined;
      try {
        row = auditRowOf(entry);
        await insertApiAuditRow(db, row);
      } catch (error) {
        logger.error('audit row not written', {
          operationId: entry.operationId,
          path: entry.req.originalUrl.split('?')[0],
          actorId: row?.actorId,
          targetId: entry.targetId,
          error,
        });
      }
    },
    loaderFailed(operationId, error) {
      logger.error('audit state not loaded', { operationId, error });
    },
  };
}

function auditRowOf(entry: AuditEntry): NewApiAuditRow {
  const actor = actorOf(entry);
  const clientId =
    entry.clientId !== undefined && entry.clientId !== null
      ? entry.clientId
      : (clientIdIn(entry.before) ?? clientIdIn(entry.after) ?? clientIdIn(entry.result) ?? actor.clientId ?? entry.scope.clientId ?? clientIdIn(entry.body));
  return {
    clientId,
    actorType: actor.type,
    actorId: actor.id,
    actorEmail: actor.email,
    actorRole: actor.role,
    action: entry.operationId,
    entityType: entry.tag,
    entityId: entry.targetId,
    method: entry.method.toUpperCase(),
    path: entry.req.originalUrl.split('?')[0] ?? entry.req.path,
    status: entry.status,
    ip: entry.req.ip ?? null,
    userAgent: entry.req.get('user-agent')?.slice(0, MAX_USER_AGENT_CHARS) ?? null,
    before: redactForAudit(entry.before),
    after: redactForAudit(entry.after),
    changes: redactForAudit(entry.body),
  };
}

interface Actor {
  type: 'user' | 'sponsor';
  id: string | null;
  email: string | null;
  role: string | null;
  clientId: string | null;
}

function actorOf(entry: AuditEntry): Actor {
  if (entry.caller === 'bearer' && entry.auth) {
    return { type: 'user', id: entry.auth.userId, email: entry.auth.email, role: entry.auth.role, clientId: entry.auth.clientId };
  }
  if (entry.caller === 'sponsorKey') {
    const sponsor = getSponsorCaller(entry.req);
    return { type: 'sponsor', id: sponsor.sponsorId, email: null, role: 'sponsor', clientId: sponsor.clientId };
  }
  // A public write (login, refresh, logout): the address it names, if any; never anything else of the body.
  const body = entry.body as { email?: unknown } | undefined;
  const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : null;
  return { type: 'user', id: null, email, role: null, clientId: null };
}

function clientIdIn(value: unknown): string | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const id = record.client_id ?? record.clientId;
  return typeof id === 'string' ? id : null;
}

/** The target's id: the route's `:id` (or its only path parameter), else the `id` a create answered. */
export function targetIdOf(params: Record<string, unknown>, result: unknown): string | null {
  if (params.id !== undefined) return String(params.id);
  const values = Object.values(params);
  if (values.length === 1) return String(values[0]);
  if (values.length > 1) return values.map(String).join('/');
  if (result && typeof result === 'object' && 'id' in result) return String((result as { id: unknown }).id);
  return null;
}
