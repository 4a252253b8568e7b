import type { DbOrTx } from '../db/connection';
import type { StepInput, StepRow } from './campaign.repository';

/**
 * Edits the steps of a started campaign in place (same ids, so queued rows keep pointing at
 * them) and appends new ones at the end.
 */
export async function updateSteps(db: DbOrTx, campaignId: string, steps: StepInput[]): Promise<StepRow[]> {
  const now = new Date();
  for (const [index, step] of steps.entries()) {
    const values = { subject: step.subject, body_html: step.bodyHtml, body_text: step.bodyText, delay_minutes: step.delayMinutes, updated_at: now };
    await db
      .insertInto('sequence_steps')
      .values({ campaign_id: campaignId, step_number: index + 1, ...values })
      .onConflict((oc) => oc.columns(['campaign_id', 'step_number']).doUpdateSet(values))
      .execute();
  }
  return db.selectFrom('sequence_steps').selectAll().where('campaign_id', '=', campaignId).orderBy('step_number').execute();
}
