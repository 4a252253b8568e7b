/** The campaign API's shapes as the console reads them, and small helpers the campaign pages share. */
import { ApiError } from '../api';

export type CampaignStatus = 'draft' | 'running' | 'paused' | 'completed' | 'cancelled';
export const CAMPAIGN_STATUSES: CampaignStatus[] = ['draft', 'running', 'paused', 'completed', 'cancelled'];

export interface Step {
  id: string;
  stepNumber: number;
  subject: string;
  bodyHtml: string;
  bodyText: string;
  delayMinutes: number;
}

export interface CampaignSettings {
  name: string;
  timeZone: string;
  useRecipientTimeZone: boolean;
  sendDays: number[];
  windowStartMinute: number;
  windowEndMinute: number;
  dailyLimit: number | null;
  trackOpens: boolean;
  trackClicks: boolean;
  stopOnReply: boolean;
  stopCompanyOnReply: boolean | null;
}

export interface Campaign extends CampaignSettings {
  id: string;
  clientId: string;
  status: CampaignStatus;
  startedAt: string | null;
  completedAt: string | null;
  createdAt: string;
  steps?: Step[];
  senderAccountIds?: string[];
}

export const EVENT_METRICS = ['queued', 'sent', 'bounced', 'opened', 'clicked', 'replied', 'unsubscribed', 'complained'] as const;
export type DayCounts = Record<(typeof EVENT_METRICS)[number], number>;
export interface Counts extends DayCounts {
  due: number;
  scheduled: number;
  retrying: number;
  inFlight: number;
  unknown: number;
  held: number;
  failed: number;
  suppressed: number;
  cancelled: number;
}
export interface CampaignStats {
  totals: Counts;
  steps: Array<Counts & { stepNumber: number }>;
  accounts: Array<Counts & { accountId: string | null }>;
  days: Array<DayCounts & { day: string }>;
}

export interface EngagementCounts {
  opened: number;
  openedAutomatedOnly: number;
  clicked: number;
  clickedAutomatedOnly: number;
  humanOpens: number;
  automatedOpens: number;
  humanClicks: number;
  automatedClicks: number;
}
export interface CampaignEngagement {
  totals: EngagementCounts;
  steps: Array<EngagementCounts & { stepNumber: number }>;
  automatedReasons: Array<{ reason: string; opens: number; clicks: number }>;
  days: Array<{ day: string; humanOpens: number; automatedOpens: number; humanClicks: number; automatedClicks: number }>;
}

export interface LifecycleResult {
  campaign: Campaign;
  queued?: number;
  skippedSuppressed?: number;
  cancelledQueueRows?: number;
  sendingBeginsAt?: string | null;
  sendingWindow?: { open: boolean; timeZone: string; message: string };
  dnsWarnings?: Array<{ domain: string; failing: string[] }>;
}

export interface ImportReport {
  rows: number;
  imported: number;
  existing: number;
  duplicatesInFile: number;
  suppressed: number;
  invalid: number;
  attachedToCampaign: number;
  queued?: number;
  errors: Array<{ line: number; field: string; message: string }>;
  errorsTruncated: boolean;
}

export type TemplateField = 'subject' | 'bodyHtml' | 'bodyText';
export interface TemplateProblem {
  field: TemplateField;
  code: string;
  severity: 'error' | 'warning';
  message: string;
  variable?: string;
}

export interface Account {
  id: string;
  clientId: string;
  email: string;
  displayName: string;
  transport: string;
  status: string;
}
export interface Client {
  id: string;
  name: string;
}
export interface Contact {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  company: string;
}

export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** 540 → "09:00" (1440, the end of the day, as "24:00"). */
export function minuteToTime(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}
/** "09:30" → 570; "24:00" → 1440; undefined for anything else. */
export function timeToMinute(text: string): number | undefined {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const minute = Number(match[1]) * 60 + Number(match[2]);
  return Number(match[2]) < 60 && minute <= 1440 ? minute : undefined;
}

/** The issues the server named for one field path (exact, or under it), as one line. */
export function issueFor(error: unknown, path: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const messages = (error.details?.issues ?? []).filter((i) => i.path === path || i.path.startsWith(`${path}.`)).map((i) => i.message);
  return messages.length ? messages.join('; ') : undefined;
}

/** "2 d 3 h" for a delay in minutes. */
export function describeDelay(minutes: number): string {
  if (minutes === 0) return 'at once';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  return [days ? `${days} d` : '', hours ? `${hours} h` : '', rest ? `${rest} min` : ''].filter(Boolean).join(' ');
}

/** A UTC day "2026-03-02" as seconds since the epoch, for uPlot's x axis. */
export const daySeconds = (day: string): number => Date.parse(`${day}T00:00:00Z`) / 1000;
