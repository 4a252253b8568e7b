/** What the inbound effects need from the configuration (config.inbound, config.health). */
import type { Config } from '../config';
import type { HealthSettings } from '../sending/health';
import type { AutomationDetector } from '../tracking/automation-detector';

export interface InboundSettings {
  /** Soft bounces of one address within softBounceWindowDays that suppress it. */
  softBounceSuppressAfter: number;
  softBounceWindowDays: number;
  /** A complaint pauses the mailbox that sent the message complained about. */
  pauseOnComplaint: boolean;
  /** How long an auto-reply that states no return date holds the contact's next step back. */
  autoReplyDelayHours: number;
  /** A reply also stops every contact of the same company domain in that campaign. */
  stopCompanyOnReply: boolean;
  /** Domains shared by unrelated people: never a "company" for stopCompanyOnReply. */
  freeMailDomains: readonly string[];
  /** Complaint and hard-bounce rates per sender domain (src/domains/domain-rates.ts). */
  domainRateWindowDays: number;
  domainRateMinSends: number;
  domainComplaintRateWarnPct: number;
  domainComplaintRatePausePct: number;
  pauseDomainOnComplaintRate: boolean;
  /** The same health machinery as SMTP-time results (sender-health.ts). */
  health: HealthSettings;
  cooldownMinutes: number;
}

export function inboundSettingsFrom(config: Pick<Config, 'inbound' | 'health'>): InboundSettings {
  const { retentionDays: _retention, ...inbound } = config.inbound;
  return { ...inbound, health: config.health, cooldownMinutes: config.health.cooldownMinutes };
}

export interface InboundDeps {
  settings: InboundSettings;
  /** When effects happen (received_at is the message's own time); defaults to the wall clock. */
  now?: () => Date;
  /** ESP opens and clicks (esp-engagement.ts): judged as our pixel and links are (config.tracking). */
  tracking?: { detector: AutomationDetector; scannerClickWindowSeconds: number };
}
