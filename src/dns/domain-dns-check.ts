/**
 * The DNS check of one sender domain (issue 15 item 5), as a receiving server would judge it:
 * - SPF authorises the route the domain's accounts send through: every IP of their SMTP
 *   relay hosts passes (mailauth evaluates the record), and Gmail API accounts need Google's
 *   servers (include:_spf.google.com, which cannot be evaluated offline, so it is read);
 * - DKIM: the key published at <selector>._domainkey is the public half of the stored key;
 * - DMARC: a record with a policy (p=none is enough for the bulk-sender rules), alignment shown;
 * - MX: the domain receives mail (replies and bounces; receivers check it);
 * - PTR of own SMTP servers: every relay IP has a reverse name that resolves back to it
 *   (forward-confirmed reverse DNS).
 * A lookup that times out or fails is `error`, not `fail`: a flaky resolver must not stop
 * campaigns. `failing` lists the checks that fail; it is what the start guard reads.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { spf } from 'mailauth/lib/spf';
import getDmarcRecord from 'mailauth/lib/dmarc/get-dmarc-record';
import { lookup, txtRecords, type DnsResolve } from './dns-resolver';

export type CheckStatus = 'pass' | 'fail' | 'error' | 'not_configured';

export interface SendingRoute {
  transport: 'smtp' | 'gmail';
  /** SMTP relay host (name or IP); absent for Gmail. */
  host?: string;
}

export interface DomainToCheck {
  domain: string;
  dkimSelector: string | null;
  /** PEM of the stored private key, decrypted; null when none is stored. */
  dkimPrivateKey: string | null;
  routes: SendingRoute[];
}

export interface RelayIp {
  host: string;
  ip: string;
  spf: string;
  ptr: string[];
  forwardConfirmed: boolean;
}

export interface DomainDnsReport {
  domain: string;
  checkedAt: string;
  spf: { status: CheckStatus; record: string | null; detail: string };
  dkim: { status: CheckStatus; selector: string | null; record: string | null; detail: string };
  dmarc: { status: CheckStatus; record: string | null; policy: string | null; alignment: { spf: 'relaxed' | 'strict'; dkim: 'relaxed' | 'strict' } | null; detail: string };
  mx: { status: CheckStatus; hosts: string[]; detail: string };
  ptr: { status: CheckStatus; detail: string };
  relays: RelayIp[];
  /** The checks that fail (spf, dkim, dmarc, mx, ptr). */
  failing: string[];
}

const GOOGLE_SPF = '_spf.google.com';

const describe = (error: unknown) => `DNS lookup failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;

/** The public half of a stored private key, base64 SPKI DER: what a DKIM p= tag holds. */
export function dkimPublicKey(privateKeyPem: string): string {
  return crypto.createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The TXT record to publish at <selector>._domainkey.<domain>. */
export function dkimRecord(privateKeyPem: string): string {
  return `v=DKIM1; k=rsa; p=${dkimPublicKey(privateKeyPem)}`;
}

function tags(record: string): Map<string, string> {
  return new Map(
    record
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part.includes('='))
      .map((part) => [part.slice(0, part.indexOf('=')).trim().toLowerCase(), part.slice(part.indexOf('=') + 1).replace(/\s+/g, '')]),
  );
}

async function addressesOf(resolve: DnsResolve, host: string): Promise<string[]> {
  if (net.isIP(host)) return [host];
  return [...(await lookup<string>(resolve, host, 'A')), ...(await lookup<string>(resolve, host, 'AAAA'))];
}

/** Reverse names of `ip` and whether one of them resolves back to it. */
async function reverse(resolve: DnsResolve, ip: string): Promise<{ ptr: string[]; forwardConfirmed: boolean }> {
  const name = net.isIPv4(ip) ? `${ip.split('.').reverse().join('.')}.in-addr.arpa` : ipv6Arpa(ip);
  const ptr = await lookup<string>(resolve, name, 'PTR');
  for (const host of ptr) if ((await addressesOf(resolve, host)).includes(ip)) return { ptr, forwardConfirmed: true };
  return { ptr, forwardConfirmed: false };
}

function ipv6Arpa(ip: string): string {
  const [head = '', tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const full = [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)].map((g) => g.padStart(4, '0')).join('');
  return `${full.split('').reverse().join('.')}.ip6.arpa`;
}

async function checkSpf(resolve: DnsResolve, target: DomainToCheck, relays: RelayIp[]): Promise<DomainDnsReport['spf']> {
  const records = (await txtRecords(resolve, target.domain)).filter((r) => /^v=spf1(\s|$)/i.test(r));
  if (records.length === 0) return { status: 'fail', record: null, detail: 'No SPF record (TXT "v=spf1 …") is published' };
  if (records.length > 1) return { status: 'fail', record: records.join(' | '), detail: 'More than one SPF record is published: receivers treat that as an error (permerror)' };
  const record = records[0]!;
  const problems: string[] = [];
  for (const relay of relays) {
    if (relay.spf !== 'pass') problems.push(`${relay.host} (${relay.ip}) is not authorised (${relay.spf})`);
  }
  if (target.routes.some((r) => r.transport === 'gmail') && !record.split(/\s+/).some((term) => term.toLowerCase().replace(/^[+~?]/, '') === `include:${GOOGLE_SPF}`)) {
    problems.push(`its Gmail accounts send through Google, but the record lacks include:${GOOGLE_SPF}`);
  }
  if (problems.length > 0) return { status: 'fail', record, detail: `The SPF record does not authorise how the domain's accounts send: ${problems.join('; ')}` };
  return { status: 'pass', record, detail: relays.length + target.routes.length === 0 ? 'Published (no account sends from the domain yet)' : 'Authorises every route the domain’s accounts send through' };
}

async function checkDkim(resolve: DnsResolve, target: DomainToCheck): Promise<DomainDnsReport['dkim']> {
  const selector = target.dkimSelector;
  if (!selector || !target.dkimPrivateKey) return { status: 'not_configured', selector, record: null, detail: 'No DKIM selector and key are stored: the platform does not sign (the relay may)' };
  const name = `${selector}._domainkey.${target.domain}`;
  const records = (await txtRecords(resolve, name)).filter((r) => tags(r).has('p'));
  if (records.length === 0) return { status: 'fail', selector, record: null, detail: `No DKIM key is published at ${name}` };
  const expected = dkimPublicKey(target.dkimPrivateKey);
  const match = records.find((r) => tags(r).get('p') === expected);
  if (!match) return { status: 'fail', selector, record: records[0]!, detail: `The key published at ${name} is not the stored key: receivers will fail every signature` };
  return { status: 'pass', selector, record: match, detail: `The key published at ${name} matches the stored key` };
}

async function checkDmarc(resolve: DnsResolve, domain: string): Promise<DomainDnsReport['dmarc']> {
  const found = await getDmarcRecord(domain, resolve);
  if (!found) return { status: 'fail', record: null, policy: null, alignment: null, detail: `No DMARC record at _dmarc.${domain} (Gmail, Yahoo and Microsoft require one from bulk senders; p=none is enough)` };
  const policy = typeof found.p === 'string' ? found.p.toLowerCase() : null;
  const alignment = { spf: found.aspf === 's' ? 'strict' : 'relaxed', dkim: found.adkim === 's' ? 'strict' : 'relaxed' } as const;
  if (!policy || !['none', 'quarantine', 'reject'].includes(policy)) return { status: 'fail', record: found.rr, policy, alignment, detail: 'The DMARC record has no valid policy (p=none, quarantine or reject)' };
  const where = found.isOrgRecord ? ' (the organisational domain’s record)' : '';
  return { status: 'pass', record: found.rr, policy, alignment, detail: `Policy p=${policy}${where}; From aligns with SPF (envelope on the same domain) and DKIM (d=${domain}) in ${alignment.spf}/${alignment.dkim} mode` };
}

async function checkMx(resolve: DnsResolve, domain: string): Promise<DomainDnsReport['mx']> {
  const mx = await lookup<{ exchange: string; priority: number }>(resolve, domain, 'MX');
  const hosts = mx.sort((a, b) => a.priority - b.priority).map((m) => m.exchange);
  if (hosts.length === 0 || (hosts.length === 1 && hosts[0] === '')) return { status: 'fail', hosts: [], detail: 'No MX record: the domain cannot receive replies and bounces, and receivers distrust it' };
  return { status: 'pass', hosts, detail: `Receives mail at ${hosts.join(', ')}` };
}

/** One part of the check: a DNS failure becomes `error` with what went wrong. */
async function guarded<T extends { status: CheckStatus; detail: string }>(run: () => Promise<T>, onError: (detail: string) => T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    return onError(describe(error));
  }
}

async function relayIps(resolve: DnsResolve, target: DomainToCheck): Promise<RelayIp[]> {
  const hosts = [...new Set(target.routes.filter((r) => r.transport === 'smtp' && r.host).map((r) => r.host!.toLowerCase()))];
  const relays: RelayIp[] = [];
  for (const host of hosts) {
    for (const ip of await addressesOf(resolve, host)) {
      const verdict = await spf({ sender: `postmaster@${target.domain}`, ip, helo: host, mta: 'dns-guard', resolver: resolve as never });
      relays.push({ host, ip, spf: verdict.status.result, ...(await reverse(resolve, ip)) });
    }
  }
  return relays;
}

export async function checkDomainDns(resolve: DnsResolve, target: DomainToCheck, now: Date): Promise<DomainDnsReport> {
  let relays: RelayIp[] = [];
  let relayError: string | undefined;
  try {
    relays = await relayIps(resolve, target);
  } catch (error) {
    relayError = describe(error);
  }
  const spfResult = relayError
    ? { status: 'error' as const, record: null, detail: `Relay addresses: ${relayError}` }
    : await guarded(() => checkSpf(resolve, target, relays), (detail) => ({ status: 'error', record: null, detail }));
  const dkim = await guarded(() => checkDkim(resolve, target), (detail) => ({ status: 'error', selector: target.dkimSelector, record: null, detail }));
  const dmarc = await guarded(() => checkDmarc(resolve, target.domain), (detail) => ({ status: 'error', record: null, policy: null, alignment: null, detail }));
  const mx = await guarded(() => checkMx(resolve, target.domain), (detail) => ({ status: 'error', hosts: [], detail }));
  const unconfirmed = relays.filter((r) => !r.forwardConfirmed);
  const ptr: DomainDnsReport['ptr'] = relayError
    ? { status: 'error', detail: relayError }
    : relays.length === 0
      ? { status: 'not_configured', detail: 'No account of the domain sends through an SMTP server (Gmail API accounts send from Google’s)' }
      : unconfirmed.length > 0
        ? { status: 'fail', detail: `No forward-confirmed reverse DNS for ${unconfirmed.map((r) => `${r.ip} (${r.host}${r.ptr.length ? `, PTR ${r.ptr.join(', ')}` : ', no PTR'})`).join('; ')}` }
        : { status: 'pass', detail: `Every relay address has a reverse name that resolves back to it` };
  const parts = { spf: spfResult, dkim, dmarc, mx, ptr };
  const failing = Object.entries(parts)
    .filter(([, part]) => part.status === 'fail')
    .map(([name]) => name);
  return { domain: target.domain, checkedAt: now.toISOString(), ...parts, relays, failing };
}
