/**
 * Inbound messages in the admin API: the list (per campaign, account, contact, kind, matched
 * or not; newest first, paged by cursor as it keeps growing while read), one message with its
 * headers, class, match, sanitised reply text and effects (its stored source only for owner and
 * client_admin), and a person's reclassification (reclassify.service.ts).
 */
import { z } from 'zod';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import type { InboundKind } from '../db/database';
import type { ApiRouter } from '../http/api-router';
import { AppError } from '../http/app-error';
import { uuid } from '../http/validation';
import { getInboundMessage, listInboundMessages, type InboundListRow, type InboundMessageRow } from './inbound-message.repository';
import { inboundSettingsFrom } from './inbound-settings';
import { reclassifyInbound } from './reclassify.service';

const KINDS = ['bounce', 'delay', 'delivered', 'complaint', 'reply', 'auto_reply', 'unmatched'] as const satisfies readonly InboundKind[];
const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

const listQuery = z.object({
  campaignId: uuid.optional(),
  accountId: uuid.optional().describe('the mailbox the message arrived in'),
  contactId: uuid.optional(),
  kind: z.enum(KINDS).optional(),
  matched: z.enum(['true', 'false']).transform((v) => v === 'true').optional().describe('true: tied to one of our messages; false: left for a person'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^[1-9]\d{0,14}$/, 'not a cursor from this route (use nextCursor of the previous page)').optional().describe('nextCursor of the previous page; omit for the first page'),
});

const summaryOut = z.object({
  id: z.number(),
  clientId: z.uuid().nullable(),
  accountId: z.uuid().nullable().describe('the mailbox it arrived in; null for a bounce mailbox or an ESP event'),
  source: z.string().describe('imap, gmail, bounce_mailbox, or the ESP (ses, sendgrid, mailgun)'),
  receivedAt: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  subject: z.string(),
  messageId: z.string().nullable(),
  kind: z.enum(KINDS),
  subKind: z.string().nullable().describe('bounce: the failed recipient’s class (recipient_hard, recipient_soft, sender_reputation, sender_auth…); auto_reply: out_of_office or other; complaint: the feedback type'),
  reason: z.string().nullable(),
  evidence: z.string().describe('what told the class (rfc3464, arf, auto-submitted, in-reply-to, …)'),
  match: z
    .object({ queueId: z.number(), campaignId: z.uuid().nullable(), contactId: z.uuid().nullable(), stepNumber: z.number().nullable(), method: z.string().nullable() })
    .nullable()
    .describe('the message of ours it is about; null when unmatched'),
  text: z.string().nullable().describe('replies and auto-replies: the new text, quoted history removed, plain text (escape it when showing it)'),
  rawSize: z.number(),
});

const effectOut = z.object({ type: z.string() }).catchall(z.unknown());
const historyOut = z.object({ at: z.string(), userId: z.string(), from: z.object({ kind: z.string(), subKind: z.string().nullable() }), to: z.object({ kind: z.string(), subKind: z.string().nullable() }), undone: z.array(z.string()), applied: z.array(z.string()) });
const detailOut = summaryOut.extend({
  headers: z.record(z.string(), z.string()),
  classification: z.record(z.string(), z.unknown()).describe('everything the classifier read: report recipients with status and class, complaint fields, match keys, return date'),
  effects: z.array(effectOut).describe('what this message changed (undone if it is reclassified)'),
  history: z.array(historyOut),
  raw: z.string().nullable().describe('the first 64 KB of the source, base64; owner and client_admin only (null for others)'),
});

function summary(row: InboundListRow): z.infer<typeof summaryOut> {
  return {
    id: row.id,
    clientId: row.client_id,
    accountId: row.account_id,
    source: row.source,
    receivedAt: row.received_at.toISOString(),
    from: row.from_address,
    to: row.to_address,
    subject: row.subject,
    messageId: row.message_id,
    kind: row.kind,
    subKind: row.sub_kind,
    reason: row.reason,
    evidence: row.evidence,
    match: row.queue_id === null ? null : { queueId: row.queue_id, campaignId: row.campaign_id, contactId: row.contact_id, stepNumber: row.step_number, method: row.match_method },
    text: row.text,
    rawSize: row.raw_size,
  };
}

function detail(row: InboundMessageRow, withRaw: boolean): z.infer<typeof detailOut> {
  return {
    ...summary(row),
    headers: row.headers,
    classification: row.classification,
    effects: row.effects as Array<z.infer<typeof effectOut>>,
    history: row.history as Array<z.infer<typeof historyOut>>,
    raw: withRaw && row.raw ? row.raw.toString('base64') : null,
  };
}

export function registerInboundRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date = () => new Date()): void {
  const deps = { settings: inboundSettingsFrom(config), now: clock };

  api.route({
    method: 'get',
    path: '/inbound',
    operationId: 'listInboundMessages',
    tag: 'inbound',
    summary: 'Inbound messages (bounces, complaints, replies, auto-replies, ESP events, unmatched mail), newest first; filter by campaign, account, contact, kind, matched; paged by cursor',
    query: listQuery,
    response: z.object({ messages: z.array(summaryOut), nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page') }),
    handler: async ({ scope, query }) => {
      const rows = await listInboundMessages(db, scope, {
        ...(query.campaignId ? { campaignId: query.campaignId } : {}),
        ...(query.accountId ? { accountId: query.accountId } : {}),
        ...(query.contactId ? { contactId: query.contactId } : {}),
        ...(query.kind ? { kind: query.kind } : {}),
        ...(query.matched !== undefined ? { matched: query.matched } : {}),
        ...(query.cursor ? { beforeId: Number(query.cursor) } : {}),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return { messages: page.map(summary), nextCursor: rows.length > query.limit && last ? String(last.id) : null };
    },
  });

  api.route({
    method: 'get',
    path: '/inbound/:id',
    operationId: 'getInboundMessage',
    tag: 'inbound',
    summary: 'One inbound message: headers, class, match, reply text, effects, reclassification history, and its source (owner and client_admin)',
    params: idParams,
    response: detailOut,
    handler: async ({ scope, params, auth }) => {
      const row = await getInboundMessage(db, scope, params.id);
      if (!row) throw new AppError(404, 'not_found', 'Inbound message not found');
      return detail(row, auth.role === 'owner' || auth.role === 'client_admin');
    },
  });

  api.route({
    method: 'post',
    path: '/inbound/:id/reclassify',
    operationId: 'reclassifyInboundMessage',
    tag: 'inbound',
    summary: 'Reclassify an inbound message: what its class did is undone where it can be (suppression, stopped or delayed sequence, pause for it) and the new class acts; kept in its history and the audit log',
    params: idParams,
    body: z
      .object({
        kind: z.enum(KINDS),
        bounceType: z.enum(['hard', 'soft']).optional().describe('kind bounce: hard suppresses and stops the sequence, soft is counted (default hard)'),
        returnDate: z.iso.date().optional().describe('kind auto_reply: when the sender is back (YYYY-MM-DD); default the date the message stated, else inbound.autoReplyDelayHours'),
      })
      .strict()
      .refine((b) => b.bounceType === undefined || b.kind === 'bounce', { message: 'bounceType applies to kind bounce only', path: ['bounceType'] })
      .refine((b) => b.returnDate === undefined || b.kind === 'auto_reply', { message: 'returnDate applies to kind auto_reply only', path: ['returnDate'] }),
    status: 200,
    errors: [409],
    response: detailOut,
    handler: async ({ scope, params, body, auth }) => {
      const row = await reclassifyInbound(db, scope, params.id, { kind: body.kind, ...(body.bounceType ? { bounceType: body.bounceType } : {}), ...(body.returnDate ? { returnDate: body.returnDate } : {}) }, auth.userId, deps);
      return detail(row, auth.role === 'owner' || auth.role === 'client_admin');
    },
  });
}
