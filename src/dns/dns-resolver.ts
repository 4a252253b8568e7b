/**
 * The one DNS resolver of the deliverability guard: node:dns pointed at dns.servers (the
 * system's when empty), in the `resolver(name, rrtype)` shape mailauth takes, so SPF, DMARC,
 * DKIM, MX, PTR and blocklist queries all go to the same configured server (tests: a local one).
 */
import { Resolver } from 'node:dns/promises';

export type DnsResolve = (name: string, rrtype: string) => Promise<unknown>;

export interface DnsSettings {
  servers: string[];
  timeoutMs: number;
}

export function createDnsResolver(settings: DnsSettings): DnsResolve {
  const resolver = new Resolver({ timeout: settings.timeoutMs, tries: 2 });
  if (settings.servers.length > 0) resolver.setServers(settings.servers);
  return (name, rrtype) => resolver.resolve(name, rrtype as 'A');
}

/** "No such name" and "no record of this type" are answers (nothing published), not failures. */
export function isNoRecord(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

/** The records, [] when none are published; a real failure (timeout, SERVFAIL) throws. */
export async function lookup<T>(resolve: DnsResolve, name: string, rrtype: string): Promise<T[]> {
  try {
    return (await resolve(name, rrtype)) as T[];
  } catch (error) {
    if (isNoRecord(error)) return [];
    throw error;
  }
}

export const txtRecords = async (resolve: DnsResolve, name: string): Promise<string[]> => (await lookup<string[]>(resolve, name, 'TXT')).map((chunks) => chunks.join(''));
