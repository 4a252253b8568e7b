/** GET /campaigns/:id/stats/engagement: opens and clicks, human and automated apart (campaign-engagement.repository.ts). */
import { z } from 'zod';
import { getCampaign } from '../campaigns/campaign.repository';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { idParams } from '../http/validation';
import { campaignEngagement } from './campaign-engagement.repository';

const eventCounts = {
  humanOpens: z.number().describe('open events not flagged as automated'),
  automatedOpens: z.number().describe('open events from mail-privacy proxies and scanners'),
  humanClicks: z.number(),
  automatedClicks: z.number().describe('clicks by link scanners'),
};
const countsOut = z.object({
  opened: z.number().describe('rows with at least one human open (the main figures’ "opened")'),
  openedAutomatedOnly: z.number().describe('rows whose only opens are automated'),
  clicked: z.number().describe('rows with at least one human click'),
  clickedAutomatedOnly: z.number().describe('rows whose only clicks are automated'),
  ...eventCounts,
});

export function registerCampaignEngagementRoute(api: ApiRouter, db: Db): void {
  api.route({
    method: 'get',
    path: '/campaigns/:id/stats/engagement',
    operationId: 'getCampaignEngagementStats',
    tag: 'stats',
    summary: 'Opens and clicks of a campaign with human and automated (proxy, scanner) ones apart: in total, per step, per automated reason and per day',
    params: idParams,
    response: z.object({
      totals: countsOut,
      steps: z.array(countsOut.extend({ stepNumber: z.number() })),
      automatedReasons: z.array(z.object({ reason: z.string(), opens: z.number(), clicks: z.number() })),
      days: z.array(z.object({ day: z.string(), ...eventCounts })),
    }),
    handler: async ({ scope, params }) => {
      const campaign = await getCampaign(db, scope, params.id);
      if (!campaign) throw new AppError(404, 'not_found', 'Campaign not found');
      return campaignEngagement(db, campaign.id);
    },
  });
}
