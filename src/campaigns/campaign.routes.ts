/** Campaigns: settings, sequence steps, sender pool, lifecycle, preview. */
import { z } from 'zod';
import { getAccount, ownedAccountIds } from '../accounts/account.repository';
import { getClient } from '../clients/client.repository';
import { clientForCreate, scopeOf } from '../auth/client-scope';
import type { Config } from '../config';
import { getContact } from '../contacts/contact.repository';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { emailAddress, idParams, nonEmptyLine, pagination, singleLine, uuid } from '../http/validation';
import { createCredentialCipher } from '../crypto/credential-cipher';
import { newMessageId } from '../queue/enqueue';
import { openAccountTransport } from '../sending/account-transport';
import { buildMessage, MessageBuildError } from '../sending/message-builder';
import { isValidTimeZone } from '../sending/sending-window';
import { trackingSignerFor } from '../tracking/tracking-signer';
import {
  attachContacts,
  deleteCampaign,
  getCampaign,
  insertCampaign,
  listCampaigns,
  listSenderIds,
  listSteps,
  replaceSenders,
  replaceSteps,
  updateCampaignSettings,
  type CampaignRow,
  type StepRow,
} from './campaign.repository';
import { updateSteps } from './campaign-steps.repository';
import { cancelCampaign, EDITABLE_STEP_STATES, LIVE_STATES, pauseCampaign, resumeCampaign, startCampaign } from './campaign.service';

const timeZone = z.string().max(64).refine(isValidTimeZone, { message: 'not a known IANA time zone' });
const minuteOfDay = z.number().int().min(0).max(1440);

export const stepSchema = z
  .object({
    // Becomes the Subject header: single line (header injection is a 400).
    subject: singleLine(998),
    bodyHtml: z.string().max(200_000).default(''),
    bodyText: z.string().max(200_000).default(''),
    delayMinutes: z.number().int().min(0).max(60 * 24 * 365).default(0),
  })
  .strict();

const settingsSchema = z.object({
  name: nonEmptyLine(200),
  timeZone,
  useRecipientTimeZone: z.boolean(),
  sendDays: z
    .array(z.number().int().min(1).max(7))
    .min(1)
    .max(7)
    .refine((days) => new Set(days).size === days.length, { message: 'days must not repeat' }),
  windowStartMinute: minuteOfDay,
  windowEndMinute: minuteOfDay,
  dailyLimit: z.number().int().positive().max(10_000_000).nullable(),
  trackOpens: z.boolean(),
  trackClicks: z.boolean(),
  stopOnReply: z.boolean(),
});

const senderIds = z.array(uuid).max(2000).refine((ids) => new Set(ids).size === ids.length, { message: 'ids must not repeat' });

const createBody = settingsSchema
  .partial()
  .required({ name: true })
  .extend({ clientId: uuid.optional(), steps: z.array(stepSchema).max(20).optional(), senderAccountIds: senderIds.optional() })
  .strict();

const stepOut = z.object({ id: z.uuid(), stepNumber: z.number(), subject: z.string(), bodyHtml: z.string(), bodyText: z.string(), delayMinutes: z.number() });
const campaignOut = z.object({
  id: z.uuid(),
  clientId: z.uuid(),
  name: z.string(),
  status: z.enum(['draft', 'running', 'paused', 'completed', 'cancelled']),
  timeZone: z.string(),
  useRecipientTimeZone: z.boolean(),
  sendDays: z.array(z.number()),
  windowStartMinute: z.number(),
  windowEndMinute: z.number(),
  dailyLimit: z.number().nullable(),
  trackOpens: z.boolean(),
  trackClicks: z.boolean(),
  stopOnReply: z.boolean(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
  steps: z.array(stepOut).optional(),
  senderAccountIds: z.array(z.uuid()).optional(),
});

const presentStep = (s: StepRow) => ({ id: s.id, stepNumber: s.step_number, subject: s.subject, bodyHtml: s.body_html, bodyText: s.body_text, delayMinutes: s.delay_minutes });

function present(c: CampaignRow, extra: { steps?: StepRow[]; senderAccountIds?: string[] } = {}): z.infer<typeof campaignOut> {
  return {
    id: c.id,
    clientId: c.client_id,
    name: c.name,
    status: c.status,
    timeZone: c.time_zone,
    useRecipientTimeZone: c.use_recipient_time_zone,
    sendDays: c.send_days,
    windowStartMinute: c.window_start_minute,
    windowEndMinute: c.window_end_minute,
    dailyLimit: c.daily_limit,
    trackOpens: c.track_opens,
    trackClicks: c.track_clicks,
    stopOnReply: c.stop_on_reply,
    startedAt: c.started_at?.toISOString() ?? null,
    completedAt: c.completed_at?.toISOString() ?? null,
    createdAt: c.created_at.toISOString(),
    ...(extra.steps ? { steps: extra.steps.map(presentStep) } : {}),
    ...(extra.senderAccountIds ? { senderAccountIds: extra.senderAccountIds } : {}),
  };
}

/** Sender ids must all be accounts of the campaign's client; a foreign id is reported as not found. */
async function checkSenders(db: Db, clientId: string, ids: string[]): Promise<void> {
  const owned = await ownedAccountIds(db, clientId, ids);
  const missing = ids.map((id, index) => ({ id, index })).filter(({ id }) => !owned.has(id));
  if (missing.length > 0) {
    throw new AppError(404, 'not_found', 'Sender account not found', { issues: missing.map(({ index }) => ({ path: `senderAccountIds.${index}`, message: 'no such account' })) });
  }
}

async function mustGet(db: Db, scope: Parameters<typeof getCampaign>[1], id: string): Promise<CampaignRow> {
  const campaign = await getCampaign(db, scope, id);
  if (!campaign) throw new AppError(404, 'not_found', 'Campaign not found');
  return campaign;
}

const lifecycleOut = z.object({ campaign: campaignOut, queued: z.number().optional(), skippedSuppressed: z.number().optional(), cancelledQueueRows: z.number().optional() });

export function registerCampaignRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date = () => new Date()): void {
  const signer = trackingSignerFor(config);
  const cipher = createCredentialCipher(config.credentialKeys);

  api.route({
    method: 'get',
    path: '/campaigns',
    tag: 'campaigns',
    summary: 'List campaigns',
    query: pagination.extend({ status: z.enum(['draft', 'running', 'paused', 'completed', 'cancelled']).optional() }),
    response: z.object({ campaigns: z.array(campaignOut) }),
    handler: async ({ scope, query }) => ({ campaigns: (await listCampaigns(db, scope, query)).map((c) => present(c)) }),
  });

  api.route({
    method: 'post',
    path: '/campaigns',
    tag: 'campaigns',
    summary: 'Create a campaign with its steps and sender pool',
    body: createBody,
    response: campaignOut,
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      const { steps = [], senderAccountIds = [], clientId: _c, ...settings } = body;
      await checkSenders(db, clientId, senderAccountIds);
      return db.transaction().execute(async (trx) => {
        const campaign = await insertCampaign(trx, clientId, settings);
        const storedSteps = await replaceSteps(trx, campaign.id, steps);
        await replaceSenders(trx, campaign.id, senderAccountIds);
        return present(campaign, { steps: storedSteps, senderAccountIds: [...senderAccountIds].sort() });
      });
    },
  });

  api.route({
    method: 'get',
    path: '/campaigns/:id',
    tag: 'campaigns',
    summary: 'Get a campaign with its steps and sender pool',
    params: idParams,
    response: campaignOut,
    handler: async ({ scope, params }) => {
      const campaign = await mustGet(db, scope, params.id);
      return present(campaign, { steps: await listSteps(db, campaign.id), senderAccountIds: await listSenderIds(db, campaign.id) });
    },
  });

  api.route({
    method: 'patch',
    path: '/campaigns/:id',
    tag: 'campaigns',
    summary: 'Change campaign settings (name, window, time zone, limits, tracking)',
    params: idParams,
    body: settingsSchema.partial().strict(),
    response: campaignOut,
    errors: [409],
    handler: async ({ scope, params, body }) => {
      const campaign = await mustGet(db, scope, params.id);
      if (!LIVE_STATES.includes(campaign.status)) throw new AppError(409, 'invalid_state', `A ${campaign.status} campaign cannot change`);
      const updated = await updateCampaignSettings(db, scope, params.id, body);
      if (!updated) throw new AppError(404, 'not_found', 'Campaign not found');
      return present(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/campaigns/:id',
    tag: 'campaigns',
    summary: 'Delete a draft campaign',
    params: idParams,
    status: 204,
    errors: [409],
    handler: async ({ scope, params }) => {
      const campaign = await mustGet(db, scope, params.id);
      if (campaign.status !== 'draft') throw new AppError(409, 'invalid_state', 'Only a draft campaign can be deleted; cancel it instead');
      await deleteCampaign(db, scope, params.id);
    },
  });

  api.route({
    method: 'put',
    path: '/campaigns/:id/steps',
    tag: 'campaigns',
    summary: 'Replace the sequence steps (draft or paused campaigns)',
    params: idParams,
    body: z.object({ steps: z.array(stepSchema).min(1).max(20) }).strict(),
    response: z.object({ steps: z.array(stepOut) }),
    errors: [409],
    status: 200,
    handler: async ({ scope, params, body }) => {
      const campaign = await mustGet(db, scope, params.id);
      if (!EDITABLE_STEP_STATES.includes(campaign.status)) throw new AppError(409, 'invalid_state', `Steps of a ${campaign.status} campaign cannot change; pause it first`);
      if (campaign.status === 'paused') {
        // Queued rows point at steps: a paused campaign may edit, not remove or reorder, them.
        const current = await listSteps(db, campaign.id);
        if (body.steps.length < current.length) throw new AppError(409, 'invalid_state', 'Steps of a started campaign can be edited or added, not removed');
      }
      const steps = await db.transaction().execute(async (trx) => {
        if (campaign.status === 'draft') return replaceSteps(trx, campaign.id, body.steps);
        return updateSteps(trx, campaign.id, body.steps);
      });
      return { steps: steps.map(presentStep) };
    },
  });

  api.route({
    method: 'put',
    path: '/campaigns/:id/senders',
    tag: 'campaigns',
    summary: 'Replace the sender pool',
    params: idParams,
    body: z.object({ senderAccountIds: senderIds }).strict(),
    response: z.object({ senderAccountIds: z.array(z.uuid()) }),
    errors: [409],
    status: 200,
    handler: async ({ scope, params, body }) => {
      const campaign = await mustGet(db, scope, params.id);
      if (!LIVE_STATES.includes(campaign.status)) throw new AppError(409, 'invalid_state', `A ${campaign.status} campaign cannot change`);
      await checkSenders(db, campaign.client_id, body.senderAccountIds);
      await db.transaction().execute((trx) => replaceSenders(trx, campaign.id, body.senderAccountIds));
      return { senderAccountIds: await listSenderIds(db, campaign.id) };
    },
  });

  api.route({
    method: 'post',
    path: '/campaigns/:id/contacts',
    tag: 'campaigns',
    summary: 'Add existing contacts to a campaign by id',
    params: idParams,
    body: z.object({ contactIds: z.array(uuid).min(1).max(10_000) }).strict(),
    response: z.object({ attached: z.number() }),
    status: 200,
    errors: [409],
    handler: async ({ scope, params, body }) => {
      const campaign = await mustGet(db, scope, params.id);
      if (!LIVE_STATES.includes(campaign.status)) throw new AppError(409, 'invalid_state', `Contacts cannot join a ${campaign.status} campaign`);
      return { attached: await attachContacts(db, campaign.id, campaign.client_id, body.contactIds) };
    },
  });

  for (const [action, run, summary] of [
    ['start', startCampaign, 'Validate the campaign and start it: step 1 is queued for every contact'],
    ['pause', pauseCampaign, 'Pause a running campaign (nothing more is claimed)'],
    ['resume', resumeCampaign, 'Resume a paused campaign'],
    ['cancel', cancelCampaign, 'Cancel the campaign: every waiting queue row is cancelled'],
  ] as const) {
    api.route({
      method: 'post',
      path: `/campaigns/:id/${action}`,
      tag: 'campaigns',
      summary,
      params: idParams,
      status: 200,
      response: lifecycleOut,
      errors: [409, 422],
      handler: async ({ scope, params }) => {
        const result = await run(db, scope, params.id, clock());
        return { ...result, campaign: present(result.campaign) };
      },
    });
  }

  api.route({
    method: 'get',
    path: '/campaigns/:id/steps/:stepNumber/preview',
    tag: 'campaigns',
    summary: 'Render one step for one contact, exactly as it would be sent',
    params: z.object({ id: uuid, stepNumber: z.coerce.number().int().min(1).max(100) }),
    query: z.object({ contactId: uuid }),
    response: z.object({ from: z.string(), to: z.string(), subject: z.string(), html: z.string(), text: z.string(), headers: z.record(z.string(), z.string()) }),
    handler: async ({ scope, params, query }) => {
      const campaign = await mustGet(db, scope, params.id);
      const step = (await listSteps(db, campaign.id)).find((s) => s.step_number === params.stepNumber);
      if (!step) throw new AppError(404, 'not_found', 'Step not found');
      // The contact must belong to the campaign's client: a foreign id is simply not found.
      const contact = await getContact(db, scopeOf(campaign.client_id), query.contactId);
      if (!contact) throw new AppError(404, 'not_found', 'Contact not found');
      const client = await getClient(db, scopeOf(campaign.client_id), campaign.client_id);
      const senderIds = await listSenderIds(db, campaign.id);
      const account = senderIds[0] ? await getAccount(db, scopeOf(campaign.client_id), senderIds[0]) : undefined;
      try {
        const message = buildMessage({
          client: { id: campaign.client_id, name: client?.name ?? '', postal_address: client?.postal_address ?? '' },
          account: account ?? { id: '00000000-0000-0000-0000-000000000000', email: 'sender@example.invalid', display_name: '' },
          campaign,
          step,
          contact,
          queue: { id: 0, message_id: '<preview@preview.invalid>', to_email: contact.email },
          signer,
        });
        return { from: message.from.address, to: message.to, subject: message.subject, html: message.html, text: message.text, headers: message.headers };
      } catch (error) {
        if (error instanceof MessageBuildError) throw new AppError(422, 'cannot_render', error.message);
        throw error;
      }
    },
  });
  api.route({
    method: 'post',
    path: '/campaigns/:id/test-send',
    tag: 'campaigns',
    summary: 'Send one step, rendered for a contact, to a test address through a sender of the pool',
    params: idParams,
    body: z.object({ stepNumber: z.number().int().min(1).max(100), to: emailAddress, contactId: uuid, accountId: uuid.optional() }).strict(),
    status: 200,
    response: z.object({ outcome: z.string(), code: z.number().optional(), response: z.string(), accountId: z.uuid(), messageId: z.string() }),
    errors: [422],
    handler: async ({ scope, params, body }) => {
      const campaign = await mustGet(db, scope, params.id);
      const own = scopeOf(campaign.client_id);
      const step = (await listSteps(db, campaign.id)).find((s) => s.step_number === body.stepNumber);
      if (!step) throw new AppError(404, 'not_found', 'Step not found');
      const contact = await getContact(db, own, body.contactId);
      if (!contact) throw new AppError(404, 'not_found', 'Contact not found');
      const accountId = body.accountId ?? (await listSenderIds(db, campaign.id))[0];
      const account = accountId ? await getAccount(db, own, accountId) : undefined;
      if (!account) throw new AppError(accountId ? 404 : 422, accountId ? 'not_found' : 'no_sender', accountId ? 'Account not found' : 'The campaign has no sender account');
      const client = await getClient(db, own, campaign.client_id);
      const messageId = newMessageId(account.email.slice(account.email.lastIndexOf('@') + 1));
      let message;
      try {
        message = buildMessage({
          client: { id: campaign.client_id, name: client?.name ?? '', postal_address: client?.postal_address ?? '' },
          account,
          campaign,
          step,
          contact,
          // Queue id 0: the test message's tracking links resolve to nothing and count nothing.
          queue: { id: 0, message_id: messageId, to_email: body.to },
          signer,
        });
      } catch (error) {
        if (error instanceof MessageBuildError) throw new AppError(422, 'cannot_render', error.message);
        throw error;
      }
      message.subject = `[Test] ${message.subject}`;
      let transport;
      try {
        transport = await openAccountTransport(db, account.id, cipher, { sink: { host: config.sink.host, port: config.sink.port }, db });
      } catch (error) {
        // The message names the field that is wrong, never a credential value.
        throw new AppError(422, 'transport_unavailable', `The account cannot send: ${(error as Error).message}`);
      }
      if (!transport) throw new AppError(404, 'not_found', 'Account not found');
      try {
        const result = await transport.send(message);
        return { outcome: result.outcome, ...(result.code === undefined ? {} : { code: result.code }), response: result.response, accountId: account.id, messageId };
      } finally {
        await transport.close();
      }
    },
  });
}
