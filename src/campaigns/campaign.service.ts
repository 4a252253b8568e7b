/**
 * Campaign lifecycle. States and the moves the API allows:
 *   draft    → running (start: validated, step 1 enqueued), cancelled
 *   running  → paused, cancelled
 *   paused   → running (resume: contacts added meanwhile are enqueued), cancelled
 *   completed, cancelled: terminal
 * Every move is one guarded UPDATE inside a transaction, so two concurrent starts cannot both
 * enqueue.
 */
import type { ClientScope } from '../auth/client-scope';
import type { Db, DbOrTx } from '../db/connection';
import type { CampaignStatus } from '../db/database';
import { AppError } from '../http/app-error';
import { enqueueCampaign } from '../queue/enqueue';
import { validateTemplate, type TemplateIssue } from '../sending/template';
import {
  campaignContactFields,
  cancelWaitingQueueRows,
  countActiveSenders,
  countCampaignContacts,
  getCampaign,
  listSteps,
  transitionCampaign,
  type CampaignRow,
} from './campaign.repository';

export interface ValidationIssue {
  path: string;
  message: string;
  details?: Omit<TemplateIssue, 'message'>;
}

export const EDITABLE_STEP_STATES: CampaignStatus[] = ['draft', 'paused'];
export const LIVE_STATES: CampaignStatus[] = ['draft', 'running', 'paused'];

/** What stops a campaign from starting: no steps, no usable sender, no contacts, broken templates. */
export async function validateCampaign(db: DbOrTx, campaign: CampaignRow): Promise<ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  const steps = await listSteps(db, campaign.id);
  if (steps.length === 0) issues.push({ path: 'steps', message: 'the campaign has no sequence steps' });
  if ((await countActiveSenders(db, campaign.id)) === 0) issues.push({ path: 'senderAccountIds', message: 'the sender pool has no active account' });
  if ((await countCampaignContacts(db, campaign.id)) === 0) issues.push({ path: 'contacts', message: 'the campaign has no contacts' });

  for (const step of steps) {
    for (const [field, template] of [
      ['subject', step.subject],
      ['bodyHtml', step.body_html],
      ['bodyText', step.body_text],
    ] as const) {
      for (const issue of validateTemplate(template, [])) issues.push({ path: `steps.${step.step_number - 1}.${field}`, message: issue.message });
    }
    if (step.body_html.trim() === '' && step.body_text.trim() === '') issues.push({ path: `steps.${step.step_number - 1}`, message: 'the step has no body' });
  }
  // Fields without a fallback must be present for every contact; checked page by page so a
  // large list is never held in memory at once.
  const templates = steps.flatMap((s) => [s.subject, s.body_html, s.body_text]);
  const missing = new Map<string, TemplateIssue>();
  let page: Parameters<typeof validateTemplate>[1] extends Iterable<infer C> ? C[] : never = [];
  const check = () => {
    for (const issue of validateTemplate(templates, page)) {
      if (issue.code !== 'missing_field' || !issue.field) continue;
      const seen = missing.get(issue.field);
      if (!seen) missing.set(issue.field, { ...issue });
      else {
        seen.missingCount = (seen.missingCount ?? 0) + (issue.missingCount ?? 0);
        seen.sampleEmails = [...(seen.sampleEmails ?? []), ...(issue.sampleEmails ?? [])].slice(0, 5);
      }
    }
    page = [];
  };
  for await (const contact of campaignContactFields(db, campaign.id)) {
    page.push({ ...contact, custom_fields: contact.custom_fields ?? {} });
    if (page.length >= 5000) check();
  }
  check();
  for (const issue of missing.values()) {
    issues.push({
      path: 'steps',
      message: `{{${issue.field}}} has no fallback and ${issue.missingCount} contact(s) have no value for it`,
      details: { code: issue.code, field: issue.field, missingCount: issue.missingCount, sampleEmails: issue.sampleEmails },
    });
  }
  return issues;
}

async function mustGet(db: DbOrTx, scope: ClientScope, id: string): Promise<CampaignRow> {
  const campaign = await getCampaign(db, scope, id, true);
  if (!campaign) throw new AppError(404, 'not_found', 'Campaign not found');
  return campaign;
}

function wrongState(campaign: CampaignRow, action: string): AppError {
  return new AppError(409, 'invalid_state', `Cannot ${action} a campaign that is ${campaign.status}`, { status: campaign.status });
}

export async function startCampaign(db: Db, scope: ClientScope, id: string, now: Date) {
  return db.transaction().execute(async (trx) => {
    const campaign = await mustGet(trx, scope, id);
    if (campaign.status !== 'draft') throw wrongState(campaign, 'start');
    const issues = await validateCampaign(trx, campaign);
    if (issues.length > 0) throw new AppError(422, 'campaign_invalid', 'The campaign cannot start yet', { issues });
    const started = await transitionCampaign(trx, scope, id, ['draft'], 'running', now);
    if (!started) throw wrongState(campaign, 'start');
    const result = await enqueueCampaign(trx, id, now);
    return { campaign: started, ...result };
  });
}

export async function pauseCampaign(db: Db, scope: ClientScope, id: string, now: Date) {
  return db.transaction().execute(async (trx) => {
    const campaign = await mustGet(trx, scope, id);
    const paused = await transitionCampaign(trx, scope, id, ['running'], 'paused', now);
    if (!paused) throw wrongState(campaign, 'pause');
    return { campaign: paused };
  });
}

export async function resumeCampaign(db: Db, scope: ClientScope, id: string, now: Date) {
  return db.transaction().execute(async (trx) => {
    const campaign = await mustGet(trx, scope, id);
    if (campaign.status !== 'paused') throw wrongState(campaign, 'resume');
    const issues = await validateCampaign(trx, campaign);
    if (issues.length > 0) throw new AppError(422, 'campaign_invalid', 'The campaign cannot resume yet', { issues });
    const resumed = await transitionCampaign(trx, scope, id, ['paused'], 'running', now);
    if (!resumed) throw wrongState(campaign, 'resume');
    const result = await enqueueCampaign(trx, id, now);
    return { campaign: resumed, ...result };
  });
}

export async function cancelCampaign(db: Db, scope: ClientScope, id: string, now: Date) {
  return db.transaction().execute(async (trx) => {
    const campaign = await mustGet(trx, scope, id);
    const cancelled = await transitionCampaign(trx, scope, id, LIVE_STATES, 'cancelled', now);
    if (!cancelled) throw wrongState(campaign, 'cancel');
    const cancelledQueueRows = await cancelWaitingQueueRows(trx, id, now);
    return { campaign: cancelled, cancelledQueueRows };
  });
}
