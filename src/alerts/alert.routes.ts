/**
 * Alerts and their channels in the admin API. Alerts: listed with filters and paging, and
 * acknowledged. Channels (Telegram bot, Slack incoming webhook, signed webhook, e-mail): the
 * owner's own (no clientId: every alert) or a client's (that client's alerts), created, read,
 * changed, deleted, and sent a test message. Secrets (bot token, Slack URL, signing secret) are
 * write-only: encrypted with the credential cipher, answered only as `hasSecret`.
 */
import { z } from 'zod';
import { clientForCreate, type ClientScope } from '../auth/client-scope';
import { clientExists } from '../clients/client.repository';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { emailAddress, idParams, nonEmptyLine, uuid } from '../http/validation';
import { deliveryHostPolicy, refusedDeliveryHost } from '../sponsors/delivery-address';
import { enqueueTestDelivery } from './alert-delivery.repository';
import { acknowledgeAlert, deleteChannel, getChannel, insertChannel, listAlerts, listChannels, updateChannel, type AlertChannelRow, type AlertRow } from './alert.repository';

const severity = z.enum(['info', 'warning', 'critical']);

const alertOut = z.object({
  id: z.number().int(),
  clientId: z.uuid().nullable().describe('null: a system alert (owner only)'),
  accountId: z.uuid().nullable(),
  severity,
  code: z.string(),
  entityKey: z.string().describe('What the alert is about (account:<id>, domain:<name>, …): one open alert per client, code and entity'),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
  occurrences: z.number().int().describe('Times raised while open (repeats send no new message)'),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  resolvedAt: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.uuid().nullable(),
});

const alertQuery = pageQuery.extend({
  state: z.enum(['open', 'resolved', 'all']).default('all').describe('open: not resolved yet'),
  severity: severity.optional(),
  code: z.string().max(100).optional(),
  accountId: uuid.optional(),
  acknowledged: z.enum(['true', 'false']).optional(),
});

const alertIdParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

const channelOut = z.object({
  id: z.uuid(),
  clientId: z.uuid().nullable().describe("null: the owner's channel, receiving every alert"),
  kind: z.enum(['telegram', 'slack', 'webhook', 'email']),
  name: z.string(),
  minSeverity: severity,
  enabled: z.boolean(),
  chatId: z.string().nullable().describe('Telegram chat'),
  url: z.string().nullable().describe('Generic webhook URL'),
  to: z.string().nullable().describe('E-mail address'),
  hasSecret: z.boolean().describe('A bot token, Slack URL or signing secret is stored (never answered)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function presentAlert(a: AlertRow): z.infer<typeof alertOut> {
  return {
    id: Number(a.id),
    clientId: a.client_id,
    accountId: a.account_id,
    severity: a.severity,
    code: a.code,
    entityKey: a.entity_key,
    message: a.message,
    details: a.details as Record<string, unknown>,
    occurrences: a.occurrences,
    createdAt: a.created_at.toISOString(),
    lastSeenAt: a.last_seen_at.toISOString(),
    resolvedAt: a.resolved_at?.toISOString() ?? null,
    acknowledgedAt: a.acknowledged_at?.toISOString() ?? null,
    acknowledgedBy: a.acknowledged_by,
  };
}

function presentChannel(c: AlertChannelRow): z.infer<typeof channelOut> {
  const settings = c.settings as Record<string, string | undefined>;
  return {
    id: c.id,
    clientId: c.client_id,
    kind: c.kind,
    name: c.name,
    minSeverity: c.min_severity,
    enabled: c.enabled,
    chatId: settings.chatId ?? null,
    url: settings.url ?? null,
    to: settings.to ?? null,
    hasSecret: c.secret_encrypted !== null,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  };
}

export function registerAlertRoutes(api: ApiRouter, db: Db, config: Config): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getChannel(db, scope, id) };
  const cipher = createCredentialCipher(config.credentialKeys);
  const hostPolicy = deliveryHostPolicy(config.alerts.webhookHostAllowList);

  const name = nonEmptyLine(200);
  const common = { name, minSeverity: severity.optional().describe('Least severe alert sent (default warning)'), enabled: z.boolean().optional() };
  const botToken = z.string().regex(/^\d{1,20}:[A-Za-z0-9_-]{20,100}$/, 'must be a Telegram bot token such as "123456:ABC-DEF…"').describe('Telegram bot token (write-only)');
  const chatId = z.string().regex(/^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$/, 'must be a Telegram chat id (a number) or @channelname');
  const prefix = config.alerts.slackWebhookUrlPrefix;
  const webhookUrl = z
    .string()
    .max(500)
    .refine((value) => value.startsWith(prefix) && URL.canParse(value) && value.length > prefix.length, `must be a Slack incoming-webhook URL starting with ${prefix}`)
    .describe('Slack incoming-webhook URL (write-only: it is the credential)');
  const url = z.url({ protocol: /^https?$/ }).max(2000).describe('Where the signed JSON is POSTed');
  const secret = z.string().min(16).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable, without spaces').describe('HMAC-SHA256 signing secret (write-only)');
  const clientId = uuid.optional().describe("The owner only: the client whose alerts it receives; omitted: the owner's channel, every alert");

  const createBody = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('telegram'), ...common, clientId, botToken, chatId }).strict(),
    z.object({ kind: z.literal('slack'), ...common, clientId, webhookUrl }).strict(),
    z.object({ kind: z.literal('webhook'), ...common, clientId, url, secret }).strict(),
    z.object({ kind: z.literal('email'), ...common, clientId, to: emailAddress }).strict(),
  ]);
  const partial = { name: name.optional(), minSeverity: common.minSeverity, enabled: common.enabled };
  const updateBody = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('telegram'), ...partial, botToken: botToken.optional(), chatId: chatId.optional() }).strict(),
    z.object({ kind: z.literal('slack'), ...partial, webhookUrl: webhookUrl.optional() }).strict(),
    z.object({ kind: z.literal('webhook'), ...partial, url: url.optional(), secret: secret.optional() }).strict(),
    z.object({ kind: z.literal('email'), ...partial, to: emailAddress.optional() }).strict(),
  ]);

  /** Checked again at every delivery, on the address connected to (delivery-address.ts). */
  async function refuseNonPublicUrl(value: string): Promise<void> {
    const refused = await refusedDeliveryHost(new URL(value), hostPolicy);
    if (refused) {
      throw new AppError(400, 'validation_failed', 'Invalid body', { issues: [{ path: 'url', message: `must reach a public address: ${refused} (the owner may allow a host in alerts.webhookHostAllowList)` }] });
    }
  }

  /** The owner without a clientId makes its own channel; anyone else a channel of their client. */
  async function channelClient(scope: ClientScope, role: string, requested: string | undefined): Promise<string | null> {
    if (role === 'owner' && scope.clientId === null && requested === undefined) return null;
    if (role === 'owner' && requested !== undefined && !(await clientExists(db, requested))) throw new AppError(404, 'not_found', 'Client not found');
    return clientForCreate(db, scope, requested);
  }

  async function channelInScope(scope: ClientScope, id: string): Promise<AlertChannelRow> {
    const channel = await getChannel(db, scope, id);
    if (!channel) throw new AppError(404, 'not_found', 'Alert channel not found');
    return channel;
  }

  api.route({
    method: 'get',
    path: '/alerts',
    operationId: 'listAlerts',
    tag: 'alerts',
    summary: 'List alerts, newest first (filter by state, severity, code, account, acknowledged)',
    query: alertQuery,
    response: pagedResponse('alerts', alertOut),
    handler: async ({ scope, query }) => {
      const { limit, offset, acknowledged, ...filter } = query;
      const page = await listAlerts(db, scope, { ...filter, ...(acknowledged ? { acknowledged: acknowledged === 'true' } : {}) }, { limit, offset });
      return paged('alerts', { limit, offset }, page, presentAlert);
    },
  });

  api.route({
    method: 'post',
    path: '/alerts/:id/acknowledge',
    operationId: 'acknowledgeAlert',
    tag: 'alerts',
    summary: 'Acknowledge an alert (someone is on it); it stays open until its condition clears',
    params: alertIdParams,
    status: 200,
    response: alertOut,
    handler: async ({ scope, params, auth }) => {
      const alert = await acknowledgeAlert(db, scope, params.id, auth.userId, new Date());
      if (!alert) throw new AppError(404, 'not_found', 'Alert not found');
      return presentAlert(alert);
    },
  });

  api.route({
    method: 'get',
    path: '/alert-channels',
    operationId: 'listAlertChannels',
    tag: 'alerts',
    summary: 'List alert channels (Telegram, Slack, webhook, e-mail)',
    query: pageQuery,
    response: pagedResponse('channels', channelOut),
    handler: async ({ scope, query }) => paged('channels', query, await listChannels(db, scope, query), presentChannel),
  });

  api.route({
    method: 'post',
    path: '/alert-channels',
    operationId: 'createAlertChannel',
    tag: 'alerts',
    audit,
    summary: "Add an alert channel: the owner's own (every alert) or a client's (its alerts)",
    body: createBody,
    response: channelOut,
    handler: async ({ scope, auth, body }) => {
      const owner = await channelClient(scope, auth.role, body.clientId);
      if (body.kind === 'webhook') await refuseNonPublicUrl(body.url);
      const fields: { settings: Record<string, string>; secretEncrypted?: string } =
        body.kind === 'telegram'
          ? { settings: { chatId: body.chatId }, secretEncrypted: cipher.encrypt(body.botToken) }
          : body.kind === 'slack'
            ? { settings: {}, secretEncrypted: cipher.encrypt(body.webhookUrl) }
            : body.kind === 'webhook'
              ? { settings: { url: body.url }, secretEncrypted: cipher.encrypt(body.secret) }
              : { settings: { to: body.to } };
      const channel = await insertChannel(db, owner, body.kind, {
        name: body.name,
        ...(body.minSeverity ? { minSeverity: body.minSeverity } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
        ...fields,
      });
      return presentChannel(channel);
    },
  });

  api.route({
    method: 'get',
    path: '/alert-channels/:id',
    operationId: 'getAlertChannel',
    tag: 'alerts',
    summary: 'Get an alert channel',
    params: idParams,
    response: channelOut,
    handler: async ({ scope, params }) => presentChannel(await channelInScope(scope, params.id)),
  });

  api.route({
    method: 'patch',
    path: '/alert-channels/:id',
    operationId: 'updateAlertChannel',
    tag: 'alerts',
    audit,
    summary: 'Change an alert channel (its kind, repeated in the body, cannot change)',
    params: idParams,
    body: updateBody,
    response: channelOut,
    errors: [409],
    handler: async ({ scope, params, body }) => {
      const channel = await channelInScope(scope, params.id);
      if (channel.kind !== body.kind) {
        throw new AppError(409, 'kind_mismatch', `This channel is ${channel.kind}; add a new channel for another kind`, { issues: [{ path: 'kind', message: `must be ${channel.kind}` }] });
      }
      const settings = { ...(channel.settings as Record<string, string>) };
      let secret: string | undefined;
      if (body.kind === 'telegram') {
        if (body.chatId !== undefined) settings.chatId = body.chatId;
        secret = body.botToken;
      } else if (body.kind === 'slack') {
        secret = body.webhookUrl;
      } else if (body.kind === 'webhook') {
        if (body.url !== undefined) {
          await refuseNonPublicUrl(body.url);
          settings.url = body.url;
        }
        secret = body.secret;
      } else if (body.to !== undefined) {
        settings.to = body.to;
      }
      const updated = await updateChannel(db, scope, params.id, {
        settings,
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.minSeverity !== undefined ? { minSeverity: body.minSeverity } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
        ...(secret !== undefined ? { secretEncrypted: cipher.encrypt(secret) } : {}),
      });
      if (!updated) throw new AppError(404, 'not_found', 'Alert channel not found');
      return presentChannel(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/alert-channels/:id',
    operationId: 'deleteAlertChannel',
    tag: 'alerts',
    audit,
    summary: 'Delete an alert channel (its undelivered messages go with it)',
    params: idParams,
    status: 204,
    handler: async ({ scope, params }) => {
      if (!(await deleteChannel(db, scope, params.id))) throw new AppError(404, 'not_found', 'Alert channel not found');
    },
  });

  api.route({
    method: 'post',
    path: '/alert-channels/:id/test',
    operationId: 'sendAlertChannelTest',
    tag: 'alerts',
    audit,
    summary: 'Queue a test message to the channel (sent by the delivery loop within alerts.deliveryIntervalMs)',
    params: idParams,
    status: 202,
    response: z.object({ deliveryId: z.number().int() }),
    handler: async ({ scope, params }) => {
      const channel = await channelInScope(scope, params.id);
      return { deliveryId: await enqueueTestDelivery(db, channel.id) };
    },
  });
}
