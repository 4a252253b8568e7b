import { z } from 'zod';
import { getCampaign } from '../campaigns/campaign.repository';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { idParams } from '../http/validation';
import { domainRates, type DomainRateSettings } from '../domains/domain-rates';
import { sendingDomains } from '../domains/domain-rates.repository';
import { bulkSenderCounts, BULK_SENDER_LIMIT, utcDay, type BulkSenderSettings } from '../dns/bulk-sender';
import { getDomain as primaryDomainOf } from 'tldts';
import { accountStats, campaignStats } from './stats.repository';
import { registerCampaignEngagementRoute } from './campaign-engagement.routes';

const eventCounts = {
  queued: z.number().describe('per day: rows created; otherwise: rows still waiting (due + scheduled + inFlight + unknown + held)'),
  sent: z.number().describe('handed to a transport and accepted'),
  bounced: z.number(),
  opened: z.number(),
  clicked: z.number(),
  replied: z.number(),
  unsubscribed: z.number(),
  complained: z.number().describe('rows reported as spam by their recipient (ARF complaint or ESP event)'),
};
const dayCountsOut = z.object(eventCounts);
/** Every queue state next to what happened (stats.repository.ts defines each). */
const countsOut = z.object({
  ...eventCounts,
  due: z.number().describe('queued and due now: waiting for a sender, its window or a limit'),
  scheduled: z.number().describe('queued for later: follow-ups not yet due, retries backing off'),
  retrying: z.number().describe('queued after at least one attempt (part of due or scheduled)'),
  inFlight: z.number().describe('claimed or being sent'),
  unknown: z.number().describe('outcome unknown, being looked up in the sender’s Sent mail'),
  held: z.number().describe('outcome unknown and not found out: waits for an operator'),
  failed: z.number().describe('given up after the last retry'),
  suppressed: z.number(),
  cancelled: z.number(),
});
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD').refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), { message: 'not a date' });
const DAY_MS = 86_400_000;

const domainRatesOut = z.object({
  clientId: z.uuid(),
  domain: z.string(),
  windowDays: z.number(),
  sends: z.number(),
  hardBounces: z.number(),
  complaints: z.number(),
  complaintRatePct: z.number().describe('Gmail and Yahoo: stay under 0.1, never reach 0.3'),
  bounceRatePct: z.number(),
  judged: z.boolean().describe('Enough sends (inbound.domainRateMinSends) for the thresholds to apply'),
  bulkSender: z
    .object({
      primaryDomain: z.string(),
      day: z.string().describe('UTC day counted (today)'),
      consumerRecipients: z.number().describe('Distinct recipients at Gmail, Yahoo and Microsoft consumer domains (dns.consumerDomains) accepted today from the primary domain'),
      byProvider: z.object({ gmail: z.number(), yahoo: z.number(), microsoft: z.number(), other: z.number() }),
      warnAt: z.number().describe('dns.bulkSenderWarnAt'),
      limit: z.number().describe('5,000 a day: the providers’ bulk-sender rules apply from here, for good'),
      warning: z.boolean().describe('At or over warnAt (a bulk_sender_threshold alert is raised)'),
    })
    .describe('Where the domain’s primary domain stands against the bulk-sender rules today'),
});

export function registerStatsRoutes(api: ApiRouter, db: Db, settings: DomainRateSettings, clock: () => Date = () => new Date(), bulk: BulkSenderSettings = { bulkSenderWarnAt: 4000, consumerDomains: [] }): void {
  api.route({
    method: 'get',
    path: '/stats/domains',
    operationId: 'listDomainStats',
    tag: 'stats',
    summary: 'Complaint (spam) and hard-bounce rates per sender domain the mailboxes send from, over the last inbound.domainRateWindowDays, and today’s consumer-mailbox recipients against the bulk-sender rules',
    response: z.object({ domains: z.array(domainRatesOut) }),
    handler: async ({ scope }) => {
      const domains = await sendingDomains(db, scope);
      const now = clock();
      const bulkCounts = new Map((await bulkSenderCounts(db, bulk, now)).map((c) => [`${c.clientId}/${c.primaryDomain}`, c]));
      const bulkOf = (clientId: string, domain: string) => {
        const primaryDomain = primaryDomainOf(domain) ?? domain;
        const { clientId: _client, ...count } = bulkCounts.get(`${clientId}/${primaryDomain}`) ?? { clientId, primaryDomain, day: utcDay(now), consumerRecipients: 0, byProvider: { gmail: 0, yahoo: 0, microsoft: 0, other: 0 }, warnAt: bulk.bulkSenderWarnAt, limit: BULK_SENDER_LIMIT, warning: false };
        return count;
      };
      const out: Array<z.infer<typeof domainRatesOut>> = [];
      for (const clientId of new Set(domains.map((d) => d.clientId))) {
        const names = domains.filter((d) => d.clientId === clientId).map((d) => d.domain);
        for (const [domain, rates] of await domainRates(db, clientId, names, settings, now)) out.push({ clientId, domain, ...rates, bulkSender: bulkOf(clientId, domain) });
      }
      return { domains: out.sort((a, b) => a.domain.localeCompare(b.domain) || a.clientId.localeCompare(b.clientId)) };
    },
  });

  api.route({
    method: 'get',
    path: '/campaigns/:id/stats',
    operationId: 'getCampaignStats',
    tag: 'stats',
    summary: 'Campaign figures: every queue state and what happened (sent, bounced, opened…), in total, per step and per sender account; events per day',
    params: idParams,
    response: z.object({
      totals: countsOut,
      steps: z.array(countsOut.extend({ stepNumber: z.number() })),
      accounts: z.array(countsOut.extend({ accountId: z.uuid().nullable() })),
      days: z.array(dayCountsOut.extend({ day: z.string() })),
    }),
    handler: async ({ scope, params }) => {
      const campaign = await getCampaign(db, scope, params.id);
      if (!campaign) throw new AppError(404, 'not_found', 'Campaign not found');
      return campaignStats(db, campaign.id, clock());
    },
  });
  registerCampaignEngagementRoute(api, db);

  api.route({
    method: 'get',
    path: '/stats/accounts',
    operationId: 'listAccountStats',
    tag: 'stats',
    summary: 'Figures per sender account across campaigns (default: the last 30 UTC days, today included)',
    query: z.object({ from: day.optional(), to: day.optional() }),
    response: z.object({ from: z.string(), to: z.string(), accounts: z.array(countsOut.extend({ accountId: z.uuid(), email: z.string() })) }),
    handler: async ({ scope, query }) => {
      // By default the last 30 UTC days, today's so far included: whole days, which the daily
      // rollup answers alone (an edge inside a day is read from per-row entries: at 10 M sends a
      // day of them cost more than the rest of the request).
      const today = Math.floor(clock().getTime() / DAY_MS) * DAY_MS;
      const to = query.to ? new Date(Date.parse(`${query.to}T00:00:00Z`) + DAY_MS) : new Date(today + DAY_MS);
      const from = query.from ? new Date(`${query.from}T00:00:00Z`) : new Date(to.getTime() - 30 * DAY_MS);
      if (from >= to) throw new AppError(400, 'validation_failed', 'Invalid query', { issues: [{ path: 'query.from', message: 'must be before "to"' }] });
      return { from: from.toISOString(), to: to.toISOString(), accounts: await accountStats(db, scope, from, to, clock()) };
    },
  });
}
