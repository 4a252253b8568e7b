/**
 * One DNSBL / domain-blocklist query: <reversed IP or domain>.<zone> A.
 * NXDOMAIN (or no A record) is clean; 127.0.0.2–127.255.255.253 is a listing (TXT gives the
 * reason); 127.255.255.x is the list refusing the query (Spamhaus: 254 = asked through a
 * public resolver, 255 = too many queries), so an error of the query and never a listing; any
 * other answer is an error too (a resolver that rewrites NXDOMAIN).
 */
import net from 'node:net';
import { isNoRecord, txtRecords, type DnsResolve } from './dns-resolver';

export type BlocklistVerdict = { result: 'clean' } | { result: 'listed'; codes: string[]; reason: string | null } | { result: 'error'; detail: string };

export function blocklistName(target: string, zone: string): string {
  const label = net.isIPv4(target)
    ? target.split('.').reverse().join('.')
    : net.isIPv6(target)
      ? expandIpv6(target).split('').reverse().join('.')
      : target.toLowerCase().replace(/\.$/, '');
  return `${label}.${zone}`;
}

function expandIpv6(ip: string): string {
  const [head = '', tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  return [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)].map((g) => g.padStart(4, '0')).join('');
}

export async function queryBlocklist(resolve: DnsResolve, target: string, zone: string): Promise<BlocklistVerdict> {
  const name = blocklistName(target, zone);
  let codes: string[];
  try {
    codes = (await resolve(name, 'A')) as string[];
  } catch (error) {
    if (isNoRecord(error)) return { result: 'clean' };
    return { result: 'error', detail: `lookup of ${name} failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  if (codes.length === 0) return { result: 'clean' };
  const refused = codes.filter((c) => c.startsWith('127.255.255.'));
  if (refused.length > 0) return { result: 'error', detail: `${zone} refused the query (${refused.join(', ')}): use your own resolver or the list's paid access, not a public resolver` };
  if (!codes.every((c) => c.startsWith('127.'))) return { result: 'error', detail: `${zone} answered ${codes.join(', ')}, not a 127.x code: the resolver rewrites answers` };
  const reason = await txtRecords(resolve, name).then(
    (texts) => texts.join(' ') || null,
    () => null,
  );
  return { result: 'listed', codes, reason };
}
