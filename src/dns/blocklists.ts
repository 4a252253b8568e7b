/**
 * Daily blocklist check (issue 15 item 6): the sending IPs of own SMTP servers (the accounts'
 * relay hosts, resolved) against the `ip` zones of dns.blocklists, and the sending, link-
 * tracking (BASE_URL's host, clients' tracking domains) and landing (offers' landing URLs) domains against the `domain`
 * zones. A listing raises one `blocklist_listed` alert per target and zone for each client it
 * concerns (resolved when the listing is gone) and, with dns.pauseOnListing, pauses the active
 * mailboxes that send from the listed IP or domain until the next check. A tracking or landing
 * domain is shared by every client: it alerts (owner-level) but pauses nothing.
 */
import { sql } from 'kysely';
import type { Config } from '../config';
import type { Db, DbOrTx } from '../db/connection';
import type { Logger } from '../logger';
import { alertEntity, raiseAlert, resolveAlerts } from '../alerts/alerts';
import { pauseSenderDomain } from '../sending/account-state.repository';
import { queryBlocklist } from './blocklist-query';
import { lookup, type DnsResolve } from './dns-resolver';
import net from 'node:net';

export const BLOCKLIST_ALERT = 'blocklist_listed';

type Kind = 'sending_ip' | 'sending_domain' | 'tracking_domain' | 'landing_domain';

interface Target {
  kind: Kind;
  value: string;
  /** Clients whose mail it concerns; empty: every client (owner-level alert). */
  clients: Set<string>;
  /** sending_ip: the accounts sending through it. */
  accountIds: string[];
}

export interface BlocklistFinding {
  kind: Kind;
  target: string;
  zone: string;
  result: 'clean' | 'listed' | 'error';
  detail: string | null;
}

const hostOf = (url: string) => {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
};

async function gatherTargets(db: Db, resolve: DnsResolve, baseUrl: string): Promise<Target[]> {
  const targets = new Map<string, Target>();
  const add = (kind: Kind, value: string, clientId: string | null, accountId?: string) => {
    const key = `${kind}/${value}`;
    const target = targets.get(key) ?? { kind, value, clients: new Set<string>(), accountIds: [] };
    if (clientId) target.clients.add(clientId);
    if (accountId) target.accountIds.push(accountId);
    targets.set(key, target);
  };
  const accounts = await db
    .selectFrom('sender_accounts')
    .select(['id', 'client_id', 'transport', sql<string>`lower(split_part(email, '@', 2))`.as('domain'), sql<string | null>`transport_settings->>'host'`.as('host')])
    .where('status', '!=', 'disabled')
    .where('transport', '!=', 'sink')
    .execute();
  const addresses = new Map<string, string[]>();
  for (const a of accounts) {
    add('sending_domain', a.domain, a.client_id);
    if (a.transport !== 'smtp' || !a.host) continue;
    const host = a.host.toLowerCase();
    if (!addresses.has(host)) addresses.set(host, net.isIP(host) ? [host] : await lookup<string>(resolve, host, 'A').catch(() => []));
    for (const ip of addresses.get(host)!) add('sending_ip', ip, a.client_id, a.id);
  }
  for (const d of await db.selectFrom('sender_domains').select(['client_id', sql<string>`lower(domain)`.as('domain')]).execute()) add('sending_domain', d.domain, d.client_id);
  const tracking = hostOf(baseUrl);
  if (tracking && !net.isIP(tracking)) add('tracking_domain', tracking, null);
  for (const c of await db.selectFrom('clients').select('tracking_domain').where('tracking_domain', 'is not', null).execute()) add('tracking_domain', c.tracking_domain!.toLowerCase(), null);
  for (const o of await db.selectFrom('offers').select('landing_url').where('landing_url', 'is not', null).execute()) {
    const landing = hostOf(o.landing_url!);
    if (landing && !net.isIP(landing)) add('landing_domain', landing, null);
  }
  return [...targets.values()];
}

const openAlert = (db: DbOrTx, kind: Kind, target: string, zone: string, clientId: string | null) =>
  db
    .selectFrom('alerts')
    .select('id')
    .where('code', '=', BLOCKLIST_ALERT)
    .where('resolved_at', 'is', null)
    .where(clientId === null ? sql<boolean>`client_id is null` : sql<boolean>`client_id = ${clientId}`)
    .where(sql<boolean>`details->>'target' = ${target} and details->>'zone' = ${zone} and details->>'kind' = ${kind}`)
    .executeTakeFirst();

async function raise(db: Db, config: Config, target: Target, zone: string, reason: string | null, now: Date): Promise<void> {
  const clients: Array<string | null> = target.clients.size > 0 && target.kind !== 'tracking_domain' && target.kind !== 'landing_domain' ? [...target.clients] : [null];
  const what = `${target.kind.replace('_', ' ')} ${target.value}`;
  const details = { kind: target.kind, target: target.value, zone, reason };
  const message = `The ${what} is listed on ${zone}${reason ? ` (${reason})` : ''}: receivers that use the list refuse or spam-folder its mail.`;
  const until = new Date(now.getTime() + 86_400_000);
  for (const clientId of clients) {
    await db.transaction().execute(async (trx) => {
      if (await openAlert(trx, target.kind, target.value, zone, clientId)) return;
      if (config.dns.pauseOnListing && clientId && target.kind === 'sending_domain') {
        const paused = await pauseSenderDomain(trx, { clientId, domain: target.value, reason: 'blocklisted', until, now, details, alert: { code: BLOCKLIST_ALERT, message: (n) => `${message} Its ${n} active mailbox(es) are paused until ${until.toISOString()}.` } });
        if (paused > 0) return;
      }
      let pausedNote = '';
      if (config.dns.pauseOnListing && clientId && target.kind === 'sending_ip') {
        const paused = await trx
          .updateTable('sender_accounts')
          .set({ status: 'paused', pause_reason: 'blocklisted', paused_until: until, probe_pending: true, updated_at: now })
          .where('client_id', '=', clientId)
          .where('id', 'in', target.accountIds)
          .where('status', '=', 'active')
          .returning('id')
          .execute();
        if (paused.length > 0) pausedNote = ` Its ${paused.length} active mailbox(es) sending through it are paused until ${until.toISOString()}.`;
      }
      await raiseAlert(trx, { clientId, accountId: null, severity: 'critical', code: BLOCKLIST_ALERT, entityKey: blocklistEntity(target, zone), message: message + pausedNote, details, at: now });
    });
  }
}

/** One open alert per listed thing and zone (a domain paused for its listing has the domain's). */
function blocklistEntity(target: Target, zone: string): string {
  return `${target.kind === 'sending_ip' ? alertEntity.ip(target.value) : alertEntity.domain(target.value)}@${zone}`;
}

async function resolveCleared(db: Db, target: Target, zone: string, now: Date): Promise<void> {
  await resolveAlerts(db, { entityKey: blocklistEntity(target, zone), codes: [BLOCKLIST_ALERT], at: now });
  if (target.kind !== 'sending_ip') await resolveAlerts(db, { entityKey: alertEntity.domain(target.value), codes: [BLOCKLIST_ALERT], at: now });
}

export async function checkBlocklists(db: Db, config: Config, resolve: DnsResolve, logger: Logger, now: Date): Promise<BlocklistFinding[]> {
  const findings: BlocklistFinding[] = [];
  if (config.dns.blocklists.length === 0) return findings;
  for (const target of await gatherTargets(db, resolve, config.baseUrl)) {
    const zones = config.dns.blocklists.filter((b) => (b.type === 'ip') === (target.kind === 'sending_ip'));
    for (const { zone } of zones) {
      const verdict = await queryBlocklist(resolve, target.value, zone);
      if (verdict.result === 'listed') await raise(db, config, target, zone, verdict.reason, now);
      // An error says nothing about the listing: an open alert stays open.
      if (verdict.result === 'clean') await resolveCleared(db, target, zone, now);
      if (verdict.result === 'error') logger.warn('blocklist query failed', { zone, target: target.value, detail: verdict.detail });
      findings.push({ kind: target.kind, target: target.value, zone, result: verdict.result, detail: verdict.result === 'listed' ? verdict.reason : verdict.result === 'error' ? verdict.detail : null });
    }
  }
  logger.info('blocklists checked', { queries: findings.length, listed: findings.filter((f) => f.result === 'listed').length, errors: findings.filter((f) => f.result === 'error').length });
  return findings;
}
