/**
 * Tells machine fetches from human opens and clicks. Mail-privacy proxies (Apple Mail
 * Privacy Protection, Google's image proxy) fetch every pixel whether or not anyone reads the
 * message, and link scanners (secure email gateways) follow every link; both are recorded
 * with a reason in automated_reason so stats count only human events.
 *
 * A click within a few seconds of the send is also a scanner; that needs the send time, so
 * the event writer decides it in SQL (see tracking-event.repository.ts).
 */
import net from 'node:net';

export type AutomatedReason = 'head_request' | 'missing_user_agent' | 'privacy_proxy_ua' | 'privacy_proxy_ip' | 'scanner_ua';

export interface AutomationSettings {
  privacyProxyUserAgents: string[];
  privacyProxyIpRanges: string[];
  scannerUserAgents: string[];
}

export interface AutomationDetector {
  classify(method: string, ip: string | null, userAgent: string | null): AutomatedReason | null;
}

/** ::ffff:17.1.2.3 (an IPv4 peer on a dual-stack socket) is matched as 17.1.2.3. */
export function normaliseIp(ip: string | undefined | null): string | null {
  if (!ip) return null;
  const plain = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  return net.isIP(plain) ? plain : null;
}

export function createAutomationDetector(settings: AutomationSettings): AutomationDetector {
  const proxyRanges = new net.BlockList();
  for (const range of settings.privacyProxyIpRanges) {
    const [address = '', prefix = ''] = range.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    proxyRanges.addSubnet(address, Number(prefix), family);
  }
  const proxyAgents = settings.privacyProxyUserAgents.map((s) => s.toLowerCase());
  const scannerAgents = settings.scannerUserAgents.map((s) => s.toLowerCase());

  return {
    classify(method, ip, userAgent) {
      if (method === 'HEAD') return 'head_request';
      const agent = (userAgent ?? '').toLowerCase();
      if (proxyAgents.some((s) => agent.includes(s))) return 'privacy_proxy_ua';
      if (ip && proxyRanges.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4')) return 'privacy_proxy_ip';
      if (agent === '') return 'missing_user_agent';
      if (scannerAgents.some((s) => agent.includes(s))) return 'scanner_ua';
      return null;
    },
  };
}
