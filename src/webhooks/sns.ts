/**
 * Amazon SNS message verification (what SES event publishing posts through), written here
 * rather than taken from sns-validator so the certificate fetch can be pointed at a test's
 * own server without weakening the check:
 *
 * - the string to sign is built per message Type from its fields, in AWS's order
 *   (Notification: Message, MessageId, Subject when present, Timestamp, TopicArn, Type;
 *   Subscription/UnsubscribeConfirmation: Message, MessageId, SubscribeURL, Timestamp, Token,
 *   TopicArn, Type), each as "Name\nvalue\n";
 * - SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA;
 * - the SigningCertURL and SubscribeURL must be https on exactly `sns.<region>.amazonaws.com`
 *   (`.com.cn` in China), the region being the TopicArn's: never a bucket (s3.amazonaws.com,
 *   Novu's forged-SNS bug), a look-alike suffix (sns.us-east-1.amazonaws.com.evil.example), a
 *   port or credentials;
 * - a subscription is confirmed (its SubscribeURL fetched) only after its signature verified.
 *
 * `webhooks.sns.originOverride` (tests, egress proxies) only changes where an already-checked
 * URL is fetched from; the URL in the message is checked the same way whatever it says.
 */
import crypto from 'node:crypto';
import { z } from 'zod';

export const SNS_MESSAGE_TYPES = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] as const;

const TOPIC_ARN = /^arn:(aws|aws-cn|aws-us-gov):sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/;

export const topicArn = z.string().max(400).regex(TOPIC_ARN, 'must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:ses-events');

const field = z.string().max(300_000);
export const snsMessageSchema = z.object({
  Type: z.enum(SNS_MESSAGE_TYPES),
  MessageId: z.string().min(1).max(200),
  TopicArn: topicArn,
  Message: field,
  Timestamp: z.iso.datetime({ offset: true }),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(2000),
  SigningCertURL: z.string().max(2000),
  Subject: z.string().max(1000).optional(),
  SubscribeURL: z.string().max(2000).optional(),
  UnsubscribeURL: z.string().max(2000).optional(),
  Token: z.string().max(2000).optional(),
});
export type SnsMessage = z.infer<typeof snsMessageSchema>;

const SIGNED_FIELDS: Record<SnsMessage['Type'], Array<keyof SnsMessage>> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

export function stringToSign(message: SnsMessage): string {
  return SIGNED_FIELDS[message.Type]
    .filter((name) => message[name] !== undefined)
    .map((name) => `${name}\n${message[name]}\n`)
    .join('');
}

/** The only host SNS signs and confirms from for a topic: its own region's endpoint. */
export function snsHostFor(arn: string): string | undefined {
  const match = TOPIC_ARN.exec(arn);
  if (!match) return undefined;
  return `sns.${match[2]}.amazonaws.com${match[1] === 'aws-cn' ? '.cn' : ''}`;
}

/** The URL when it is https on the topic's SNS host, with no port or credentials; else undefined. */
function pinnedUrl(value: string | undefined, arn: string): URL | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const host = snsHostFor(arn);
  const plain = url.protocol === 'https:' && url.port === '' && url.username === '' && url.password === '';
  return plain && host !== undefined && url.hostname === host ? url : undefined;
}

export function signingCertUrl(message: SnsMessage): URL | undefined {
  const url = pinnedUrl(message.SigningCertURL, message.TopicArn);
  return url && url.pathname.endsWith('.pem') && url.search === '' ? url : undefined;
}

export function subscribeUrl(message: SnsMessage): URL | undefined {
  const url = pinnedUrl(message.SubscribeURL, message.TopicArn);
  return url && url.searchParams.get('Action') === 'ConfirmSubscription' && url.searchParams.get('TopicArn') === message.TopicArn ? url : undefined;
}

export function verifySignature(message: SnsMessage, publicKey: crypto.KeyObject): boolean {
  const algorithm = message.SignatureVersion === '1' ? 'sha1' : 'sha256';
  try {
    return crypto.verify(algorithm, Buffer.from(stringToSign(message), 'utf8'), publicKey, Buffer.from(message.Signature, 'base64'));
  } catch {
    return false;
  }
}

/** GETs a URL, resolving its body on a 2xx and throwing otherwise. Tests may pass their own. */
export type SnsFetch = (url: URL) => Promise<string>;

export interface SnsClientOptions {
  requestTimeoutMs: number;
  certificateCacheSeconds: number;
  originOverride: string | null;
  fetch?: SnsFetch;
  now?: () => Date;
}

/** Certificates are small; anything larger is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_CACHED_CERTIFICATES = 100;

function defaultFetch(timeoutMs: number): SnsFetch {
  return async (url) => {
    const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await response.arrayBuffer());
    if (!response.ok) throw new Error(`${url.host} answered HTTP ${response.status}`);
    if (body.length > MAX_RESPONSE_BYTES) throw new Error(`${url.host} answered more than ${MAX_RESPONSE_BYTES} bytes`);
    return body.toString('utf8');
  };
}

export interface SnsClient {
  /** The public key of a checked SigningCertURL (cached); throws when it cannot be had or is not a current certificate. */
  signingKey(url: URL): Promise<crypto.KeyObject>;
  /** Confirms a subscription: GETs a checked SubscribeURL. */
  confirm(url: URL): Promise<void>;
}

export function createSnsClient(options: SnsClientOptions): SnsClient {
  const get = options.fetch ?? defaultFetch(options.requestTimeoutMs);
  const now = options.now ?? (() => new Date());
  const cache = new Map<string, { expires: number; key: Promise<crypto.KeyObject> }>();
  const target = (url: URL) => (options.originOverride ? new URL(url.pathname + url.search, options.originOverride) : url);

  async function load(url: URL): Promise<crypto.KeyObject> {
    const certificate = new crypto.X509Certificate(await get(target(url)));
    const at = now().getTime();
    if (at < Date.parse(certificate.validFrom) || at > Date.parse(certificate.validTo)) throw new Error('SNS signing certificate is not valid now');
    return certificate.publicKey;
  }

  return {
    signingKey(url) {
      const at = now().getTime();
      const cached = cache.get(url.href);
      if (cached && cached.expires > at) return cached.key;
      if (cache.size >= MAX_CACHED_CERTIFICATES) cache.delete(cache.keys().next().value as string);
      // The promise is cached, so concurrent messages fetch a certificate once; a failure is not kept.
      const key = load(url);
      cache.set(url.href, { expires: at + options.certificateCacheSeconds * 1000, key });
      key.catch(() => cache.delete(url.href));
      return key;
    },
    async confirm(url) {
      await get(target(url));
    },
  };
}
