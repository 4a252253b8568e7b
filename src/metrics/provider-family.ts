/**
 * The mailbox provider family of a recipient domain, for the sends metric: the consumer
 * domains of the three providers whose rules decide most cold-mail deliverability. Custom
 * domains hosted by Google or Microsoft count as "other" (telling them apart needs an MX
 * lookup, which a metric must not wait for).
 */
export type ProviderFamily = 'gmail' | 'microsoft' | 'yahoo' | 'other';

export const PROVIDER_FAMILIES: readonly ProviderFamily[] = ['gmail', 'microsoft', 'yahoo', 'other'];

const FAMILY_PATTERNS: ReadonlyArray<[ProviderFamily, RegExp]> = [
  ['gmail', /^(gmail\.com|googlemail\.com)$/],
  ['microsoft', /^(outlook|hotmail|live|msn|windowslive)\.[a-z.]+$/],
  ['yahoo', /^(yahoo|ymail|rocketmail|aol|aim)\.[a-z.]+$/],
];

export function providerFamily(recipientDomain: string): ProviderFamily {
  const domain = recipientDomain.toLowerCase();
  return FAMILY_PATTERNS.find(([, pattern]) => pattern.test(domain))?.[0] ?? 'other';
}
