/**
 * What the ESPs would do, with keys the test makes: an SNS signing certificate (RSA, made with
 * the openssl CLI: Node cannot make X.509 certificates) served by a local HTTP server that also
 * answers subscription confirmations and records every request, SNS messages signed v1 or v2,
 * SendGrid batches signed with a P-256 key, Mailgun bodies signed with an HMAC key.
 *
 * The app fetches from the local server through webhooks.sns.originOverride, after checking the
 * SigningCertURL in the message (https on sns.<region>.amazonaws.com) as it would in production.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export const REGION = 'us-east-1';
export const TOPIC_ARN = `arn:aws:sns:${REGION}:123456789012:ses-events`;
export const CERT_URL = `https://sns.${REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem`;

export interface SnsPeer {
  origin: string;
  /** Paths (with query) the app requested, in order. */
  requests: string[];
  /** Answer confirmations with this status (default 200). */
  confirmStatus: number;
  close(): Promise<void>;
}

export interface SnsSigner {
  certificatePem: string;
  sign(message: Record<string, string>, version?: '1' | '2'): Record<string, string>;
}

export function createSnsSigner(): SnsSigner {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sns-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-subj', '/CN=sns.amazonaws.com', '-days', '2'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const key = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
  const certificatePem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    certificatePem,
    sign(message, version = '2') {
      const fields =
        message.Type === 'Notification'
          ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
          : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
      const text = fields.filter((f) => message[f] !== undefined).map((f) => `${f}\n${message[f]}\n`).join('');
      const signature = crypto.sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(text, 'utf8'), key).toString('base64');
      return { ...message, SignatureVersion: version, Signature: signature };
    },
  };
}

export async function startSnsPeer(certificatePem: string): Promise<SnsPeer> {
  const peer: SnsPeer = { origin: '', requests: [], confirmStatus: 200, close: async () => undefined };
  const server = http.createServer((req, res) => {
    peer.requests.push(req.url ?? '');
    if (req.url?.endsWith('.pem')) {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(certificatePem);
    } else if (req.url?.includes('Action=ConfirmSubscription')) {
      res.writeHead(peer.confirmStatus, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  peer.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return peer;
}

let counter = 0;

/** An SNS Notification carrying an SES event, unsigned (sign with SnsSigner.sign). */
export function snsNotification(sesEvent: unknown, overrides: Record<string, string> = {}): Record<string, string> {
  counter += 1;
  return {
    Type: 'Notification',
    MessageId: `${crypto.randomUUID()}`,
    TopicArn: TOPIC_ARN,
    Message: JSON.stringify(sesEvent),
    Timestamp: new Date().toISOString(),
    SigningCertURL: CERT_URL,
    UnsubscribeURL: `https://sns.${REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC_ARN}:sub-${counter}`,
    ...overrides,
  };
}

export function snsSubscriptionConfirmation(overrides: Record<string, string> = {}): Record<string, string> {
  const token = crypto.randomBytes(32).toString('hex');
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: crypto.randomUUID(),
    Token: token,
    TopicArn: TOPIC_ARN,
    Message: `You have chosen to subscribe to the topic ${TOPIC_ARN}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.${REGION}.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC_ARN)}&Token=${token}`,
    Timestamp: new Date().toISOString(),
    SigningCertURL: CERT_URL,
    ...overrides,
  };
}

/** An SES event as configuration-set event publishing writes it. */
export function sesBounce(messageId: string, recipients: Array<{ email: string; status: string; diagnostic: string }>, bounceType = 'Permanent', bounceSubType = 'General') {
  return {
    eventType: 'Bounce',
    bounce: {
      bounceType,
      bounceSubType,
      bouncedRecipients: recipients.map((r) => ({ emailAddress: r.email, action: 'failed', status: r.status, diagnosticCode: r.diagnostic })),
      timestamp: new Date().toISOString(),
      feedbackId: `0100-${crypto.randomUUID()}`,
      reportingMTA: 'dsn; a8-30.smtp-out.amazonses.com',
    },
    mail: {
      timestamp: new Date().toISOString(),
      source: 'sender@example.com',
      messageId: `0100-ses-${crypto.randomUUID()}`,
      destination: recipients.map((r) => r.email),
      headersTruncated: false,
      headers: [{ name: 'Message-ID', value: messageId }],
      commonHeaders: { messageId },
    },
  };
}

export interface SendgridSigner {
  /** The verification key as SendGrid shows it: base64 DER (SPKI). */
  verificationKey: string;
  sign(body: string, timestamp?: number): { signature: string; timestamp: string };
}

export function createSendgridSigner(): SendgridSigner {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    verificationKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    sign(body, timestamp = Math.floor(Date.now() / 1000)) {
      const signature = crypto.sign('sha256', Buffer.concat([Buffer.from(String(timestamp)), Buffer.from(body, 'utf8')]), privateKey).toString('base64');
      return { signature, timestamp: String(timestamp) };
    },
  };
}

export function mailgunSigned(signingKey: string, eventData: Record<string, unknown>, options: { timestamp?: number; token?: string } = {}): string {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const token = options.token ?? crypto.randomBytes(25).toString('hex');
  const signature = crypto.createHmac('sha256', signingKey).update(timestamp + token).digest('hex');
  return JSON.stringify({ signature: { timestamp, token, signature }, 'event-data': eventData });
}
