/** Campaign lifecycle: start, pause, resume, cancel (campaign.service.ts has the states). */
import { z } from 'zod';
import type { ClientScope } from '../auth/client-scope';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { campaignAudit } from './campaign-audit';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { idParams } from '../http/validation';
import { guardCampaignStart, type FailingDomain } from '../dns/dns-start-guard';
import { getCampaign, type CampaignRow } from './campaign.repository';
import { campaignOut, present } from './campaign.schemas';
import { cancelCampaign, pauseCampaign, resumeCampaign, startCampaign } from './campaign.service';
import type { SendingBegins } from './sending-begins';

const lifecycleOut = z.object({
  campaign: campaignOut,
  queued: z.number().optional(),
  skippedSuppressed: z.number().optional(),
  cancelledQueueRows: z.number().optional(),
  sendingBeginsAt: z.string().nullable().optional().describe('start and resume: when the sending window next opens (now when open), ISO 8601; null when it never opens'),
  sendingWindow: z
    .object({ open: z.boolean(), timeZone: z.string(), message: z.string() })
    .optional()
    .describe('start and resume: the window, the time zone whose window opens first, and what that means, in words'),
  dnsWarnings: z
    .array(z.object({ domain: z.string(), failing: z.array(z.string()) }))
    .optional()
    .describe('start, with dns.enforceOnStart "warn": sender domains whose last DNS check fails (with "refuse" the start is refused instead)'),
});

function presentSendingBegins(begins: SendingBegins | undefined) {
  if (!begins) return {};
  return { sendingBeginsAt: begins.at?.toISOString() ?? null, sendingWindow: { open: begins.open, timeZone: begins.timeZone, message: begins.message } };
}

type LifecycleResult = { campaign: CampaignRow; queued?: number; skippedSuppressed?: number; cancelledQueueRows?: number; sendingBegins?: SendingBegins; dnsWarnings?: FailingDomain[] };

export function registerCampaignLifecycleRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date): void {
  const audit: RouteAudit<unknown> = campaignAudit(db);
  const enqueue = { messageIdDomain: config.sending.messageIdDomain };
  const actions: Array<[string, (scope: ClientScope, id: string, now: Date) => Promise<LifecycleResult>, string]> = [
    [
      'start',
      async (scope, id, now) => {
        // Only a campaign the caller may see is judged (its domains are named in the answer).
        const dnsWarnings = (await getCampaign(db, scope, id)) ? await guardCampaignStart(db, id, config.dns.enforceOnStart) : [];
        return { ...(await startCampaign(db, scope, id, now, enqueue)), ...(dnsWarnings.length > 0 ? { dnsWarnings } : {}) };
      },
      'Validate the campaign and start it: step 1 is queued for every contact; says when sending begins'],
    ['pause', (scope, id, now) => pauseCampaign(db, scope, id, now), 'Pause a running campaign (nothing more is claimed)'],
    ['resume', (scope, id, now) => resumeCampaign(db, scope, id, now, enqueue), 'Resume a paused campaign; says when sending begins'],
    ['cancel', (scope, id, now) => cancelCampaign(db, scope, id, now), 'Cancel the campaign: every waiting queue row is cancelled'],
  ];
  for (const [action, run, summary] of actions) {
    api.route({
      method: 'post',
      path: `/campaigns/:id/${action}`,
      operationId: `${action}Campaign`,
      tag: 'campaigns',
      audit,
      summary,
      params: idParams,
      status: 200,
      response: lifecycleOut,
      errors: [409, 422],
      handler: async ({ scope, params }) => {
        const { sendingBegins, ...result } = await run(scope, params.id, clock());
        return { ...result, campaign: present(result.campaign), ...presentSendingBegins(sendingBegins) };
      },
    });
  }
}
