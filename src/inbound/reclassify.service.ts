/**
 * A person reclassifies an inbound message (a reply taken for an auto-reply, a bounce that was
 * really a complaint, …): in one transaction, what the old class did is undone where it can be
 * (effect-undo.ts), the new class acts as if the message had arrived as it (inbound-effects.ts,
 * at the time of the reclassification), and the change is kept in the message's history and in
 * the audit log.
 *
 * A person vouches for the thread: a reply is then matched to the row its In-Reply-To /
 * References names even when it came from another address than the contact's.
 */
import type { ClientScope } from '../auth/client-scope';
import { inTransaction, type DbOrTx } from '../db/connection';
import type { InboundKind } from '../db/database';
import { AppError } from '../http/app-error';
import type { AppliedEffect } from './applied-effect';
import { undoEffects } from './effect-undo';
import type { InboundClassification } from './inbound-classification';
import { applyEffects, type EffectTarget } from './inbound-effects';
import { matchInbound, type InboundMatch } from './inbound-match';
import { accountRefById, queueRowById } from './inbound-match.repository';
import { loadInboundForUpdate, updateInboundClass, type InboundMessageRow } from './inbound-message.repository';
import type { InboundDeps } from './inbound-settings';

export interface Reclassification {
  kind: InboundKind;
  /** bounce only: hard suppresses and stops, soft is counted (default hard). */
  bounceType?: 'hard' | 'soft';
  /** auto_reply only: the date the sender is back (YYYY-MM-DD). */
  returnDate?: string;
}

export interface HistoryEntry {
  at: string;
  userId: string;
  from: { kind: InboundKind; subKind: string | null };
  to: { kind: InboundKind; subKind: string | null };
  undone: AppliedEffect['type'][];
  applied: AppliedEffect['type'][];
}

function subKindOf(change: Reclassification, current: InboundMessageRow): string | null {
  if (change.kind === 'bounce') return change.bounceType === 'soft' ? 'recipient_soft' : 'recipient_hard';
  if (change.kind === 'complaint') return 'abuse';
  if (change.kind === current.kind) return current.sub_kind;
  return null;
}

async function rowFor(tx: DbOrTx, message: InboundMessageRow, kind: InboundKind): Promise<InboundMatch | undefined> {
  if (message.queue_id !== null) {
    const row = await queueRowById(tx, message.queue_id);
    return row ? { row, method: (message.match_method as InboundMatch['method'] | null) ?? 'message_id' } : undefined;
  }
  const classification = message.classification as unknown as InboundClassification;
  const account = message.account_id ? await accountRefById(tx, message.account_id) : undefined;
  const match = await matchInbound(tx, {
    kind,
    keys: { ...(classification.match ?? { messageIds: [] }), ...(message.from_address ? { from: message.from_address } : {}) },
    ...(account ? { account } : {}),
    receivedAt: message.received_at,
    trusted: true,
  });
  // Never across clients: a message of one client's mailbox acts only on that client's rows.
  return match && (message.client_id === null || match.row.client_id === message.client_id) ? match : undefined;
}

export async function reclassifyInbound(db: DbOrTx, scope: ClientScope, id: number, change: Reclassification, userId: string, deps: InboundDeps): Promise<InboundMessageRow> {
  const now = deps.now?.() ?? new Date();
  return inTransaction(db, async (tx) => {
    const message = await loadInboundForUpdate(tx, scope, id);
    if (!message) throw new AppError(404, 'not_found', 'Inbound message not found');
    const subKind = subKindOf(change, message);
    if (message.kind === change.kind && message.sub_kind === subKind) {
      throw new AppError(409, 'unchanged', `The message is already classified as ${change.kind}${subKind ? ` (${subKind})` : ''}`);
    }
    const undone = await undoEffects(tx, id, message.effects as AppliedEffect[], now);
    const match = await rowFor(tx, message, change.kind);
    let applied: AppliedEffect[] = [];
    if (match) {
      const returnDate = change.returnDate ?? (message.classification as { returnDate?: string }).returnDate;
      const target: EffectTarget = {
        inboundId: id,
        kind: change.kind,
        subKind,
        row: match.row,
        from: message.from_address,
        subject: message.subject,
        text: message.text,
        headerMessageId: message.message_id,
        code: null,
        diagnostic: `reclassified as ${change.kind} by a person`,
        ...(change.kind === 'auto_reply' && returnDate ? { returnDate } : {}),
      };
      applied = await applyEffects(tx, target, deps.settings, now);
    }
    const entry: HistoryEntry = {
      at: now.toISOString(),
      userId,
      from: { kind: message.kind, subKind: message.sub_kind },
      to: { kind: change.kind, subKind },
      undone: undone.map((e) => e.type),
      applied: applied.map((e) => e.type),
    };
    const updated = {
      kind: change.kind,
      sub_kind: subKind,
      reason: 'reclassified',
      queue_id: match?.row.id ?? null,
      campaign_id: match?.row.campaign_id ?? null,
      contact_id: match?.row.contact_id ?? null,
      step_number: match?.row.step_number ?? null,
      match_method: match?.method ?? null,
      effects: applied,
      history: [...(message.history as HistoryEntry[]), entry],
    };
    await updateInboundClass(tx, id, updated);
    await tx
      .insertInto('audit_log')
      .values({ client_id: message.client_id, actor_type: 'user', actor_id: userId, action: 'inbound.reclassified', entity_type: 'inbound_message', entity_id: String(id), details: JSON.stringify(entry), created_at: now })
      .execute();
    return { ...message, ...updated, effects: applied, history: updated.history };
  });
}
