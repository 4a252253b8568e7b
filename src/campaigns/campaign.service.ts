/**
 * Campaign lifecycle. States and the moves the API allows:
 *   draft    → running (start: validated, step 1 enqueued), cancelled
 *   running  → paused, cancelled
 *   paused   → running (resume: contacts added meanwhile are enqueued), cancelled
 *   running  → completed (campaign-completion.service.ts: nothing left waiting)
 *   completed, cancelled: terminal
 * Every move is one guarded UPDATE inside a transaction, so two concurrent starts cannot both
 * enqueue. Whatever queues rows for a running campaign holds a lock on its row meanwhile, so
 * the completion job cannot complete it under them.
 */
import type { ClientScope } from '../auth/client-scope';
import type { Db, DbOrTx } from '../db/connection';
import type { CampaignStatus } from '../db/database';
import { AppError } from '../http/app-error';
import { enqueueCampaign, type EnqueueOptions } from '../queue/enqueue';
import { validateTemplate, type TemplateIssue } from '../sending/template';
import { templateErrors } from '../sending/template-problems';
import {
  campaignContactFields,
  cancelWaitingQueueRows,
  countActiveSenders,
  countCampaignContacts,
  getCampaign,
  listSteps,
  lockCampaignStatus,
  transitionCampaign,
  type CampaignRow,
} from './campaign.repository';
import { sendingBeginsFor } from './sending-begins';

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
      // Steps saved before templates were checked on save may still hold errors.
      for (const problem of templateErrors(template)) issues.push({ path: `steps.${step.step_number - 1}.${field}`, message: problem.message });
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

/** The campaign in the caller's scope, or the API's 404 (a foreign id is simply not found). */
export async function campaignOr404(db: DbOrTx, scope: ClientScope, id: string, forUpdate = false): Promise<CampaignRow> {
  const campaign = await getCampaign(db, scope, id, forUpdate);
  if (!campaign) throw new AppError(404, 'not_found', 'Campaign not found');
  return campaign;
}

const mustGet = (db: DbOrTx, scope: ClientScope, id: string) => campaignOr404(db, scope, id, true);

function wrongState(campaign: CampaignRow, action: string): AppError {
  return new AppError(409, 'invalid_state', `Cannot ${action} a campaign that is ${campaign.status}`, { status: campaign.status });
}

export async function startCampaign(db: Db, scope: ClientScope, id: string, now: Date, options: EnqueueOptions) {
  const result = await db.transaction().execute(async (trx) => {
    const campaign = await mustGet(trx, scope, id);
    if (campaign.status !== 'draft') throw wrongState(campaign, 'start');
    const issues = await validateCampaign(trx, campaign);
    if (issues.length > 0) throw new AppError(422, 'campaign_invalid', 'The campaign cannot start yet', { issues });
    const started = await transitionCampaign(trx, scope, id, ['draft'], 'running', now);
    if (!started) throw wrongState(campaign, 'start');
    const queued = await enqueueCampaign(trx, id, now, options);
    return { campaign: started, ...queued };
  });
  // After the commit: it reads every contact's time zone and holds no lock meanwhile.
  return { ...result, sendingBegins: await sendingBeginsFor(db, result.campaign, now) };
}

export async function pauseCampaign(db: Db, scope: ClientScope, id: string, now: Date) {
  return db.transaction().execute(async (trx) => {
    const campaign = await mustGet(trx, scope, id);
    const paused = await transitionCampaign(trx, scope, id, ['running'], 'paused', now);
    if (!paused) throw wrongState(campaign, 'pause');
    return { campaign: paused };
  });
}

export async function resumeCampaign(db: Db, scope: ClientScope, id: string, now: Date, options: EnqueueOptions) {
  const result = await db.transaction().execute(async (trx) => {
    const campaign = await mustGet(trx, scope, id);
    if (campaign.status !== 'paused') throw wrongState(campaign, 'resume');
    const issues = await validateCampaign(trx, campaign);
    if (issues.length > 0) throw new AppError(422, 'campaign_invalid', 'The campaign cannot resume yet', { issues });
    const resumed = await transitionCampaign(trx, scope, id, ['paused'], 'running', now);
    if (!resumed) throw wrongState(campaign, 'resume');
    const queued = await enqueueCampaign(trx, id, now, options);
    return { campaign: resumed, ...queued };
  });
  return { ...result, sendingBegins: await sendingBeginsFor(db, result.campaign, now) };
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

/**
 * Contacts were just added to a campaign (CSV import, or by id), in transaction `trx`: a
 * running campaign gets step 1 queued for them now; a draft or paused one queues them at start
 * or resume. The campaign row is locked (shared, so imports into one campaign do not wait for
 * each other) and its status read after the lock: a resume that committed meanwhile is seen,
 * and the completion job cannot complete the campaign before these rows are committed. A
 * campaign that completed or was cancelled meanwhile refuses the contacts (the transaction
 * rolls back). Returns how many rows were queued, or undefined when the campaign is not running.
 */
export async function enqueueAddedContacts(trx: DbOrTx, campaignId: string, now: Date, options: EnqueueOptions): Promise<number | undefined> {
  const status = await lockCampaignStatus(trx, campaignId);
  if (status === undefined) throw new AppError(404, 'not_found', 'Campaign not found');
  if (status === 'completed' || status === 'cancelled') {
    throw new AppError(409, 'invalid_state', `Contacts cannot join a ${status} campaign`, { status });
  }
  if (status !== 'running') return undefined;
  return (await enqueueCampaign(trx, campaignId, now, options)).queued;
}
