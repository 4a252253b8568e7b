/**
 * Campaigns: settings, sequence steps, sender pool, contacts by id. Lifecycle, preview / test
 * send and the queue rows are in campaign-lifecycle.routes.ts, campaign-preview.routes.ts and
 * campaign-messages.routes.ts, registered from here.
 */
import { z } from 'zod';
import { ownedAccountIds } from '../accounts/account.repository';
import { clientForCreate } from '../auth/client-scope';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import { campaignAudit } from './campaign-audit';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { idParams, uuid } from '../http/validation';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { registerCampaignLifecycleRoutes } from './campaign-lifecycle.routes';
import { registerCampaignMessageRoutes } from './campaign-messages.routes';
import { registerCampaignPreviewRoutes } from './campaign-preview.routes';
import { registerCampaignTemplateCheckRoute } from './campaign-template-check.routes';
import {
  attachContacts,
  deleteCampaign,
  insertCampaign,
  listCampaigns,
  listSenderIds,
  listSteps,
  replaceSenders,
  replaceSteps,
  updateCampaignSettings,
} from './campaign.repository';
import { campaignOut, createBody, present, presentStep, senderIds, settingsSchema, stepOut, stepSchema } from './campaign.schemas';
import { updateSteps } from './campaign-steps.repository';
import { campaignOr404 as mustGet, EDITABLE_STEP_STATES, enqueueAddedContacts, LIVE_STATES } from './campaign.service';

/** Sender ids must all be accounts of the campaign's client; a foreign id is reported as not found. */
async function checkSenders(db: Db, clientId: string, ids: string[]): Promise<void> {
  const owned = await ownedAccountIds(db, clientId, ids);
  const missing = ids.map((id, index) => ({ id, index })).filter(({ id }) => !owned.has(id));
  if (missing.length > 0) {
    throw new AppError(404, 'not_found', 'Sender account not found', { issues: missing.map(({ index }) => ({ path: `senderAccountIds.${index}`, message: 'no such account' })) });
  }
}

export function registerCampaignRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date = () => new Date()): void {
  // Before '/campaigns/:id…' routes are matched: a literal path of its own.
  registerCampaignTemplateCheckRoute(api);
  const audit: RouteAudit<unknown> = campaignAudit(db);
  api.route({
    method: 'get',
    path: '/campaigns',
    operationId: 'listCampaigns',
    tag: 'campaigns',
    summary: 'List campaigns (filter by status, name, and for the owner ?clientId=)',
    query: pageQuery.extend({
      status: z.enum(['draft', 'running', 'paused', 'completed', 'cancelled']).optional(),
      search: z.string().max(200).optional().describe('Part of the name, any case'),
    }),
    response: pagedResponse('campaigns', campaignOut),
    handler: async ({ scope, query }) => paged('campaigns', query, await listCampaigns(db, scope, query), (c) => present(c)),
  });

  api.route({
    method: 'post',
    path: '/campaigns',
    operationId: 'createCampaign',
    tag: 'campaigns',
    audit,
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
    operationId: 'getCampaign',
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
    operationId: 'updateCampaign',
    tag: 'campaigns',
    audit,
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
    operationId: 'deleteCampaign',
    tag: 'campaigns',
    audit,
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
    operationId: 'replaceCampaignSteps',
    tag: 'campaigns',
    audit,
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
    operationId: 'replaceCampaignSenders',
    tag: 'campaigns',
    audit,
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
    operationId: 'addCampaignContacts',
    tag: 'campaigns',
    audit,
    summary: 'Add existing contacts to a campaign by id (a running campaign queues step 1 for them at once)',
    params: idParams,
    body: z.object({ contactIds: z.array(uuid).min(1).max(10_000) }).strict(),
    response: z.object({ attached: z.number(), queued: z.number().optional().describe('rows queued, when the campaign is running') }),
    status: 200,
    errors: [409],
    handler: async ({ scope, params, body }) => {
      const campaign = await mustGet(db, scope, params.id);
      if (!LIVE_STATES.includes(campaign.status)) throw new AppError(409, 'invalid_state', `Contacts cannot join a ${campaign.status} campaign`);
      return db.transaction().execute(async (trx) => {
        const attached = await attachContacts(trx, campaign.id, campaign.client_id, body.contactIds);
        const queued = await enqueueAddedContacts(trx, campaign.id, clock(), { messageIdDomain: config.sending.messageIdDomain });
        return queued === undefined ? { attached } : { attached, queued };
      });
    },
  });

  registerCampaignLifecycleRoutes(api, db, config, clock);
  registerCampaignPreviewRoutes(api, db, config);
  registerCampaignMessageRoutes(api, db, clock);
}
