/** Request and response shapes of the campaign routes, and how rows are presented. */
import { z } from 'zod';
import { nonEmptyLine, singleLine, uuid } from '../http/validation';
import { isValidTimeZone } from '../sending/sending-window';
import { templateErrors } from '../sending/template-problems';
import type { CampaignRow, StepRow } from './campaign.repository';

export const timeZone = z.string().max(64).refine(isValidTimeZone, { message: 'not a known IANA time zone' });
const minuteOfDay = z.number().int().min(0).max(1440);

/**
 * A step's template field: its template errors (sending/template-problems.ts) are 400s, one
 * issue each with its code and position; warnings are saved and listed by the preview.
 */
function template<T extends z.ZodType<string>>(schema: T) {
  return schema.superRefine((value, ctx) => {
    for (const problem of templateErrors(value)) ctx.addIssue({ code: 'custom', message: problem.message, params: { problem: problem.code, position: problem.position } });
  });
}

export const stepSchema = z
  .object({
    // Becomes the Subject header: single line (header injection is a 400).
    subject: template(singleLine(998)),
    bodyHtml: template(z.string().max(200_000)).default(''),
    bodyText: template(z.string().max(200_000)).default(''),
    delayMinutes: z.number().int().min(0).max(60 * 24 * 365).default(0),
  })
  .strict();

export const settingsSchema = z.object({
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
  stopCompanyOnReply: z
    .boolean()
    .nullable()
    .describe('A reply also stops every other contact of the same company domain in this campaign (never a free-mail domain); null: inbound.stopCompanyOnReply decides'),
});

export const senderIds = z.array(uuid).max(2000).refine((ids) => new Set(ids).size === ids.length, { message: 'ids must not repeat' });

export const createBody = settingsSchema
  .partial()
  .required({ name: true })
  .extend({ clientId: uuid.optional(), steps: z.array(stepSchema).max(20).optional(), senderAccountIds: senderIds.optional() })
  .strict();

export const stepOut = z.object({ id: z.uuid(), stepNumber: z.number(), subject: z.string(), bodyHtml: z.string(), bodyText: z.string(), delayMinutes: z.number() });
export const campaignOut = z.object({
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
  stopCompanyOnReply: z.boolean().nullable().describe('null: inbound.stopCompanyOnReply decides'),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
  steps: z.array(stepOut).optional(),
  senderAccountIds: z.array(z.uuid()).optional(),
});

export const presentStep = (s: StepRow) => ({ id: s.id, stepNumber: s.step_number, subject: s.subject, bodyHtml: s.body_html, bodyText: s.body_text, delayMinutes: s.delay_minutes });

export function present(c: CampaignRow, extra: { steps?: StepRow[]; senderAccountIds?: string[] } = {}): z.infer<typeof campaignOut> {
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
    stopCompanyOnReply: c.stop_company_on_reply,
    startedAt: c.started_at?.toISOString() ?? null,
    completedAt: c.completed_at?.toISOString() ?? null,
    createdAt: c.created_at.toISOString(),
    ...(extra.steps ? { steps: extra.steps.map(presentStep) } : {}),
    ...(extra.senderAccountIds ? { senderAccountIds: extra.senderAccountIds } : {}),
  };
}
