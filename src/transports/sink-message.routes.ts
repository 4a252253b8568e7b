/**
 * The mail the dev SMTP sink captured (accounts with transport `sink`: the embedded default's
 * way to see what a campaign sends, without a real mailbox). Owner only: the sink is shared by
 * every client of the instance.
 */
import { z } from 'zod';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { getSinkMessage, listSinkMessages, type SinkMessageSummary } from './sink-message.repository';
import { parseSinkMessage, signedPreviewPath } from './sink-preview';

const sinkMessageOut = z.object({
  id: z.number(),
  from: z.string(),
  to: z.array(z.string()),
  messageId: z.string().nullable(),
  subject: z.string(),
  sizeBytes: z.number(),
  receivedAt: z.string(),
});

function present(m: SinkMessageSummary): z.infer<typeof sinkMessageOut> {
  return { id: m.id, from: m.mail_from, to: m.rcpt_to, messageId: m.message_id, subject: m.subject, sizeBytes: m.size_bytes, receivedAt: m.received_at.toISOString() };
}

const messageIdParam = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export function registerSinkMessageRoutes(api: ApiRouter, db: Db, previewSecret: string): void {
  api.route({
    method: 'get',
    path: '/sink/messages',
    operationId: 'listSinkMessages',
    tag: 'sink',
    summary: 'Mail captured by the dev SMTP sink, newest first (paged with ?before=<id>)',
    access: 'owner',
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50), before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional() }),
    response: z.object({ messages: z.array(sinkMessageOut) }),
    handler: async ({ query }) => ({ messages: (await listSinkMessages(db, { limit: query.limit, ...(query.before ? { beforeId: query.before } : {}) })).map(present) }),
  });

  api.route({
    method: 'get',
    path: '/sink/messages/:id',
    operationId: 'getSinkMessage',
    tag: 'sink',
    summary: 'One captured message with its raw RFC 822 source (headers and body as the recipient would get them)',
    access: 'owner',
    params: messageIdParam,
    response: sinkMessageOut.extend({
      raw: z.string(),
      text: z.string().nullable().describe('The text part, decoded'),
      hasHtml: z.boolean(),
      headers: z.array(z.object({ name: z.string(), value: z.string() })).describe('Header fields in order, unfolded'),
      previewPath: z.string().describe('A signed path (valid 10 minutes) serving the HTML part, or the text, with no script and no remote content, for a sandboxed iframe'),
    }),
    handler: async ({ params }) => {
      const message = await getSinkMessage(db, params.id);
      if (!message) throw new AppError(404, 'not_found', 'No captured message with this id');
      const parsed = await parseSinkMessage(message.raw);
      return { ...present(message), raw: message.raw, text: parsed.text, hasHtml: parsed.html !== null, headers: parsed.headers, previewPath: signedPreviewPath(previewSecret, message.id) };
    },
  });
}
