/**
 * A campaign as the audit trail records it before and after a change: its settings row, its
 * sequence steps and its sender mailboxes, so a step edit or a sender swap shows what changed.
 */
import type { RouteAudit } from '../http/api-router';
import type { Db } from '../db/connection';
import { getCampaign, listSenderIds, listSteps } from './campaign.repository';

export function campaignAudit(db: Db): RouteAudit<unknown> {
  return {
    load: async (id, scope) => {
      const campaign = await getCampaign(db, scope, id);
      if (!campaign) return undefined;
      return { ...campaign, steps: await listSteps(db, id), senderIds: await listSenderIds(db, id) };
    },
  };
}
