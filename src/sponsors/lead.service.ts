/**
 * Creating a lead, idempotently: the sponsor's Idempotency-Key names the lead. The same key
 * with the same request returns the original lead; the same key with a different request is
 * a 409. The lead and its delivery row are written in one transaction (the outbox), so a
 * stored lead is always delivered eventually.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import { findLeadByKey, insertLeadDelivery, insertLeadIfNew, type LeadRow } from './lead.repository';

export interface LeadRequest {
  clientId: string;
  sponsorId: string;
  offerId: string | null;
  idempotencyKey: string;
  email: string;
  data: Record<string, unknown>;
  sourceQueueId: number | null;
  /** Whether the sponsor has a delivery URL (no URL, nothing to deliver). */
  deliver: boolean;
}

/** JSON with object keys sorted, so equal requests hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(request: Pick<LeadRequest, 'offerId' | 'email' | 'data' | 'sourceQueueId'>): string {
  return crypto
    .createHash('sha256')
    .update(canonicalJson({ offerId: request.offerId, email: request.email, data: request.data, sourceQueueId: request.sourceQueueId }))
    .digest('hex');
}

export async function createLead(db: Db, request: LeadRequest, now = new Date()): Promise<{ lead: LeadRow; created: boolean }> {
  const hash = requestHash(request);
  return db.transaction().execute(async (tx) => {
    const inserted = await insertLeadIfNew(tx, { ...request, requestHash: hash });
    if (inserted) {
      if (request.deliver) await insertLeadDelivery(tx, inserted.id, now);
      return { lead: inserted, created: true };
    }
    // Lost the insert to an earlier request with this key (possibly concurrent: the insert
    // above waited for it to commit), so the row is visible now.
    const existing = await findLeadByKey(tx, request.sponsorId, request.idempotencyKey);
    if (!existing) throw new Error('lead vanished between insert and read');
    if (existing.request_hash !== hash) {
      throw new AppError(409, 'idempotency_conflict', 'This Idempotency-Key was already used with a different request', {
        issues: [{ path: 'header.Idempotency-Key', message: 'already used with a different request' }],
      });
    }
    return { lead: existing, created: false };
  });
}
