/**
 * running → completed, for every running campaign with nothing left waiting (see
 * campaign-completion.repository.ts for what "waiting" is). Run every minute by the
 * schedules, not after each send: whether a campaign is finished depends on more than the
 * send path (the claim cancels and suppresses rows, the sweeper settles unknown ones, an
 * operator releases held ones, contacts unsubscribe), and the send path is the hottest code
 * there is (one result per mail, 1,200 workers). One statement per minute for all running
 * campaigns costs less than one per send, and a status a minute late harms nothing.
 *
 * Paused and cancelled campaigns are never touched. Anything that queues rows for a running
 * campaign (start, resume, contacts added) holds a lock on its campaign row while it does,
 * and this job locks the rows it completes and checks again in a later statement: a campaign
 * cannot complete under a contact import that is about to queue mail for it.
 */
import type { Db } from '../db/connection';
import { withoutJit } from '../db/connection';
import { completeCampaigns, lockFinishedCampaigns, type CompletedCampaign } from './campaign-completion.repository';

export async function completeFinishedCampaigns(db: Db, now: Date): Promise<CompletedCampaign[]> {
  return db.transaction().execute(async (trx) => {
    await withoutJit(trx);
    const candidates = await lockFinishedCampaigns(trx);
    return completeCampaigns(trx, candidates, now);
  });
}
