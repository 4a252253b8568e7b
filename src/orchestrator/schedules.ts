/**
 * Timed jobs, with node-cron:
 * - midnight in every account time zone (UTC always included): the day's quotas renew, so
 *   reconcile at once (accounts stopped for "daily quota used" get workers again) and prune
 *   limit counters too old to matter. Warm-up needs no stored "day" to advance: the
 *   effective limit is computed from warmup_started_on and today's date in the account's zone.
 * - every sweepIntervalMs: the sending engine's sweeper (expired claims back to the queue,
 *   expired sends to 'unknown' and their reconciliation).
 * - every 10 seconds: the statistics rollups' deltas folded into one row per key (stats_fold:
 *   writers only insert deltas, so they never wait on a shared counter row).
 * - every minute: running campaigns with nothing left waiting become `completed`
 *   (campaign-completion.service.ts says why on a timer and not per send).
 * - hourly: resolve 'worker_crashed' alerts of accounts running again, delete old resolved
 *   alerts, delete inbound messages older than inbound.retentionDays (their bounces,
 *   complaints and replies stay: the stats read them); rotate worker logs every 5 minutes.
 * - daily at 03:45 UTC: raw history past config `retention` (tracking events, send logs, sink
 *   messages) deleted in batches (history-retention.ts); the statistics live on in the rollups.
 * - daily at 03:15 UTC: every sender domain's DNS check, then the blocklists (src/dns/);
 *   hourly: today's consumer-mailbox recipients per primary domain against the bulk-sender rules.
 * Zones are re-read hourly so a new account zone gets its own midnight.
 */
import path from 'node:path';
import { foldStatsDeltas } from '../stats/stats.repository';
import cron, { type ScheduledTask } from 'node-cron';
import { completeFinishedCampaigns } from '../campaigns/campaign-completion.service';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { purgeInboundMessages } from '../inbound/inbound-message.repository';
import { rotateLogs } from './log-rotation';
import { purgeHistory, type RetentionResult } from './history-retention';
import { createCredentialCipher } from '../crypto/credential-cipher';
import { checkBlocklists } from '../dns/blocklists';
import { warnBulkSenders } from '../dns/bulk-sender';
import { recheckAllDomains } from '../dns/domain-dns.service';
import { createDnsResolver } from '../dns/dns-resolver';
import { cleanUpAlerts, listAccountTimeZones, pruneRateCounters } from './maintenance.repository';

export interface ScheduleDeps {
  db: Db;
  config: Config;
  logger: Logger;
  sweep?: (db: Db, now: Date) => Promise<unknown>;
  /** Called at midnight in any account zone (quotas renewed). */
  onNewDay(timeZone: string): void;
}

/** node-cron takes seconds in its expression; intervals under a minute use the seconds field. */
export function intervalExpression(intervalMs: number): string {
  const seconds = Math.max(1, Math.round(intervalMs / 1000));
  if (seconds < 60) return `*/${seconds} * * * * *`;
  const minutes = Math.max(1, Math.round(seconds / 60));
  return minutes < 60 ? `*/${minutes} * * * *` : '0 * * * *';
}

function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export class Schedules {
  private readonly tasks: ScheduledTask[] = [];
  private readonly midnightTasks = new Map<string, ScheduledTask>();

  constructor(private readonly deps: ScheduleDeps) {}

  private guard(name: string, job: () => Promise<unknown>): () => Promise<void> {
    return async () => {
      try {
        await job();
      } catch (error) {
        this.deps.logger.error('scheduled job failed', { job: name, error: (error as Error).message });
      }
    };
  }

  async start(): Promise<void> {
    const { config, db, logger } = this.deps;
    const o = config.orchestrator;
    if (this.deps.sweep) {
      const sweep = this.deps.sweep;
      this.tasks.push(cron.schedule(intervalExpression(o.sweepIntervalMs), this.guard('sweeper', () => sweep(db, new Date())), { noOverlap: true, name: 'sweeper' }));
    }
    this.tasks.push(cron.schedule('*/10 * * * * *', this.guard('stats-fold', () => foldStatsDeltas(db)), { noOverlap: true, name: 'stats-fold' }));
    this.tasks.push(cron.schedule('* * * * *', this.guard('campaign-completion', () => this.completeCampaigns()), { noOverlap: true, name: 'campaign-completion' }));
    this.tasks.push(cron.schedule('0 * * * *', this.guard('alerts', () => cleanUpAlerts(db, o.alertRetentionDays)), { noOverlap: true, name: 'alert-cleanup' }));
    this.tasks.push(cron.schedule('0 * * * *', this.guard('zones', () => this.refreshZones()), { noOverlap: true, name: 'zones' }));
    this.tasks.push(cron.schedule('30 * * * *', this.guard('inbound-retention', () => this.purgeInbound()), { noOverlap: true, name: 'inbound-retention' }));
    this.tasks.push(cron.schedule('45 3 * * *', this.guard('history-retention', () => this.purgeHistory()), { timezone: 'UTC', noOverlap: true, name: 'history-retention' }));
    this.tasks.push(cron.schedule('15 3 * * *', this.guard('dns-guard', () => this.checkDns()), { timezone: 'UTC', noOverlap: true, name: 'dns-guard' }));
    this.tasks.push(cron.schedule('45 * * * *', this.guard('bulk-sender', () => warnBulkSenders(db, config.dns, new Date())), { noOverlap: true, name: 'bulk-sender' }));
    if (o.workerLogs === 'file') {
      const logDir = path.join(config.dataDir, 'logs');
      this.tasks.push(cron.schedule('*/5 * * * *', this.guard('log-rotation', () => rotateLogs(logDir, o.workerLogMaxBytes)), { noOverlap: true, name: 'log-rotation' }));
    }
    await this.refreshZones();
    logger.debug('schedules started', { zones: [...this.midnightTasks.keys()] });
  }

  /** One midnight job per distinct account time zone. */
  async refreshZones(): Promise<void> {
    const zones = new Set(['UTC', ...(await listAccountTimeZones(this.deps.db)).filter(isValidZone)]);
    for (const zone of zones) {
      if (this.midnightTasks.has(zone)) continue;
      const task = cron.schedule('0 0 * * *', this.guard(`midnight ${zone}`, () => this.newDay(zone)), { timezone: zone, noOverlap: true, name: `midnight-${zone}` });
      this.midnightTasks.set(zone, task);
    }
  }

  /** What midnight in `zone` does (public so it can be run on demand). */
  async newDay(zone: string): Promise<void> {
    const pruned = await pruneRateCounters(this.deps.db, this.deps.config.orchestrator.rateCounterRetentionDays);
    this.deps.logger.info('new sending day', { timeZone: zone, countersPruned: pruned });
    this.deps.onNewDay(zone);
  }

  /** Deletes inbound messages past inbound.retentionDays (public so it can be run on demand). */
  async purgeInbound(now = new Date()): Promise<number> {
    const purged = await purgeInboundMessages(this.deps.db, new Date(now.getTime() - this.deps.config.inbound.retentionDays * 86_400_000));
    if (purged > 0) this.deps.logger.info('inbound messages purged', { purged, retentionDays: this.deps.config.inbound.retentionDays });
    return purged;
  }

  /** Deletes raw history past config `retention` (public so it can be run on demand). */
  async purgeHistory(now = new Date()): Promise<RetentionResult> {
    const purged = await purgeHistory(this.deps.db, this.deps.config.retention, now);
    this.deps.logger.info('history past retention deleted', { ...purged });
    return purged;
  }

  /** Every sender domain's DNS check, then the blocklists (public so it can be run on demand). */
  async checkDns(now = new Date()): Promise<void> {
    const { db, config, logger } = this.deps;
    const resolve = createDnsResolver(config.dns);
    await recheckAllDomains({ db, resolve, cipher: createCredentialCipher(config.credentialKeys) }, logger, now);
    await checkBlocklists(db, config, resolve, logger, now);
  }

  /** Completes finished campaigns (public so it can be run on demand). */
  async completeCampaigns(now = new Date()): Promise<number> {
    const completed = await completeFinishedCampaigns(this.deps.db, now);
    for (const campaign of completed) this.deps.logger.info('campaign completed', { campaignId: campaign.id, clientId: campaign.clientId, name: campaign.name });
    return completed.length;
  }

  async stop(): Promise<void> {
    for (const task of [...this.tasks, ...this.midnightTasks.values()]) await task.destroy();
    this.tasks.length = 0;
    this.midnightTasks.clear();
  }
}
