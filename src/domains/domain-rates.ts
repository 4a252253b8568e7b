/**
 * Complaint (spam) rate and hard-bounce rate per sender domain, over the domain's mailboxes'
 * sends in the last inbound.domainRateWindowDays: what Gmail and Yahoo judge a bulk sender by
 * (complaints under 0.1 %, never 0.3 %). Below inbound.domainRateMinSends sends a rate is
 * shown but not judged: one complaint in twenty sends says little.
 *
 * A complaint re-judges its domain (checkDomainComplaintRate, in the complaint's transaction):
 * crossing domainComplaintRateWarnPct raises one warning, crossing domainComplaintRatePausePct
 * one critical alert and (inbound.pauseDomainOnComplaintRate) pauses every active mailbox of the
 * domain until the window has passed, when the complaints that crossed it have left the window.
 * The level reached is kept (sender_domain_rate_levels), so later complaints at the same level
 * alert no more; once a complaint finds the rate back under the warning line, it is cleared.
 */
import { alertEntity, raiseAlert } from '../alerts/alerts';
import type { DbOrTx } from '../db/connection';
import type { AppliedEffect } from '../inbound/applied-effect';
import type { InboundSettings } from '../inbound/inbound-settings';
import { pauseSenderDomain } from '../sending/account-state.repository';
import { domainCounts, setRateLevel, storedRateLevel, type DomainCounts, type RateLevel } from './domain-rates.repository';

const DAY_MS = 86_400_000;

export type DomainRateSettings = Pick<InboundSettings, 'domainRateWindowDays' | 'domainRateMinSends' | 'domainComplaintRateWarnPct' | 'domainComplaintRatePausePct' | 'pauseDomainOnComplaintRate'>;

export interface DomainRates extends DomainCounts {
  windowDays: number;
  /** Complaints / sends, in percent (0 without sends), rounded to 3 decimals. */
  complaintRatePct: number;
  bounceRatePct: number;
  /** Enough sends in the window for the rates to be judged against the thresholds. */
  judged: boolean;
}

const pct = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((part / whole) * 100_000) / 1000);

export function ratesOf(counts: DomainCounts | undefined, settings: DomainRateSettings): DomainRates {
  const c = counts ?? { sends: 0, hardBounces: 0, complaints: 0 };
  return { ...c, windowDays: settings.domainRateWindowDays, complaintRatePct: pct(c.complaints, c.sends), bounceRatePct: pct(c.hardBounces, c.sends), judged: c.sends >= settings.domainRateMinSends };
}

export function windowStart(settings: DomainRateSettings, now: Date): Date {
  return new Date(now.getTime() - settings.domainRateWindowDays * DAY_MS);
}

/** The rates of these domains of one client (lower-case names). */
export async function domainRates(db: DbOrTx, clientId: string, domains: readonly string[], settings: DomainRateSettings, now: Date): Promise<Map<string, DomainRates>> {
  const counts = await domainCounts(db, clientId, domains, windowStart(settings, now));
  return new Map(domains.map((d) => [d.toLowerCase(), ratesOf(counts.get(d.toLowerCase()), settings)]));
}

function levelOf(rates: DomainRates, settings: DomainRateSettings): RateLevel | undefined {
  if (!rates.judged) return undefined;
  if (rates.complaintRatePct >= settings.domainComplaintRatePausePct) return 'pause';
  if (rates.complaintRatePct >= settings.domainComplaintRateWarnPct) return 'warn';
  return undefined;
}

const RANK = { none: 0, warn: 1, pause: 2 } as const;

/** After a complaint about mail of `domain`: alert (and pause) once when its rate crossed a threshold. */
export async function checkDomainComplaintRate(tx: DbOrTx, clientId: string, domain: string, settings: DomainRateSettings, now: Date, effects: AppliedEffect[]): Promise<void> {
  const name = domain.toLowerCase();
  const rates = (await domainRates(tx, clientId, [name], settings, now)).get(name)!;
  const level = levelOf(rates, settings);
  const stored = await storedRateLevel(tx, clientId, name);
  await setRateLevel(tx, clientId, name, level, rates.complaintRatePct, now);
  if (RANK[level ?? 'none'] <= RANK[stored ?? 'none']) return;

  const figures = `${rates.complaintRatePct} % complaints (${rates.complaints} of ${rates.sends} sends in ${rates.windowDays} days)`;
  const details = { domain: name, ...rates };
  if (level === 'pause' && settings.pauseDomainOnComplaintRate) {
    const until = new Date(now.getTime() + settings.domainRateWindowDays * DAY_MS);
    const accounts = await pauseSenderDomain(tx, {
      clientId,
      domain: name,
      reason: 'complaint_rate',
      until,
      now,
      details,
      alert: {
        code: 'sender_domain_complaint_rate',
        message: (n) => `Sender domain ${name}: ${figures}, over the ${settings.domainComplaintRatePausePct} % Gmail and Yahoo hold to; its ${n} active mailbox(es) are paused until ${until.toISOString()}.`,
      },
    });
    if (accounts > 0) {
      effects.push({ type: 'domain_paused', domain: name, accounts });
      return;
    }
  }
  const alert = await raiseAlert(tx, {
    clientId,
    accountId: null,
    severity: level === 'pause' ? 'critical' : 'warning',
    code: level === 'pause' ? 'sender_domain_complaint_rate' : 'sender_domain_complaint_rate_warning',
    entityKey: alertEntity.domain(name),
    message: `Sender domain ${name}: ${figures}, over the ${level === 'pause' ? settings.domainComplaintRatePausePct : settings.domainComplaintRateWarnPct} % ${level === 'pause' ? 'Gmail and Yahoo hold to' : 'Gmail and Yahoo ask senders to stay under'}.`,
    details,
    at: now,
  });
  // A repeat only bumps the open alert: undoing this message must not resolve it.
  if (alert.isNew) effects.push({ type: 'alert', alertId: alert.id });
}
