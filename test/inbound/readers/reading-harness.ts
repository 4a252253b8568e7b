/**
 * What the inbox-reading tests share: a delivery recorder standing where ingestion stands (it
 * keeps ingestion's promise, idempotency on (source, accountId, sourceKey), and runs the real
 * classifier on what it gets), a poller on the test database, and IMAP helpers acting as the
 * test's own mail client.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { createCredentialCipher, type CredentialCipher } from '../../../src/crypto/credential-cipher';
import type { Db } from '../../../src/db/connection';
import { classifyInbound } from '../../../src/inbound/classify-inbound';
import type { InboundMessage, InboundDeliveryResult } from '../../../src/inbound/readers/inbound-delivery';
import { InboundPoller, type InboxReadingSettings } from '../../../src/inbound/readers/inbound-poller';
import { createLogger } from '../../../src/logger';
import type { ImapPeer } from '../../peers/imap-peer';

export const testCipher = createCredentialCipher([{ id: 'test', key: crypto.randomBytes(32) }]);

export interface Delivery extends InboundMessage {
  duplicate: boolean;
  kind: string;
}

export interface Recorder {
  /** Every call, in order, duplicates included. */
  calls: Delivery[];
  /** What ingestion would have stored: one per (source, accountId, sourceKey). */
  stored(): Delivery[];
  deliver(message: InboundMessage): Promise<InboundDeliveryResult>;
}

export function recorder(): Recorder {
  const calls: Delivery[] = [];
  const byKey = new Map<string, Delivery>();
  return {
    calls,
    stored: () => [...byKey.values()],
    async deliver(message) {
      const key = `${message.source}|${message.accountId ?? ''}|${message.sourceKey}`;
      const duplicate = byKey.has(key);
      const delivery: Delivery = { ...message, duplicate, kind: classifyInbound(message.raw).kind };
      calls.push(delivery);
      if (!duplicate) byKey.set(key, delivery);
      return { id: key, duplicate, kind: delivery.kind };
    },
  };
}

export const defaultSettings: InboxReadingSettings = {
  enabled: true,
  pollIntervalSeconds: 300,
  activePollIntervalSeconds: 60,
  activeWindowMinutes: 60,
  concurrency: 4,
  markProcessed: 'none',
  maxMessageBytes: 262_144,
  maxMessagesPerPoll: 200,
  initialLookbackHours: 24,
  alertAfterFailures: 3,
  connectTimeoutMs: 10_000,
  pollTimeoutMs: 20_000,
};

export function poller(db: Db, deliver: (message: InboundMessage) => Promise<InboundDeliveryResult>, options: { settings?: Partial<InboxReadingSettings>; nodeId?: string; gmail?: { rootUrl: string; tokenUrl: string }; cipher?: CredentialCipher } = {}): InboundPoller {
  return new InboundPoller({
    db,
    nodeId: options.nodeId ?? 'node-test',
    settings: { ...defaultSettings, ...options.settings },
    cipher: options.cipher ?? testCipher,
    deliver,
    logger: createLogger('silent'),
    ...(options.gmail ? { gmail: options.gmail } : {}),
  });
}

/** Makes every mailbox due now (the schedule itself is tested in inbound-poller.test.ts). */
export async function everyMailboxDue(db: Db): Promise<void> {
  await db.updateTable('inbound_mailboxes').set({ next_poll_at: new Date(Date.now() - 1000) }).execute();
}

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'inbound');
export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

/** The test's own IMAP client on the peer's mailbox. */
export async function withImap<T>(peer: ImapPeer, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: peer.host, port: peer.port, secure: false, auth: { user: peer.user, pass: peer.pass }, logger: false });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** APPENDs raw messages to INBOX (unseen), with a receive date when given. */
export async function deliverByImap(peer: ImapPeer, raws: Array<Buffer | string>, internalDate?: Date): Promise<void> {
  await withImap(peer, async (client) => {
    for (const raw of raws) await client.append('INBOX', raw, [], internalDate);
  });
}

/** A small reply-like message, unique by `tag`. */
export function plainMessage(tag: string, extraBody = ''): string {
  return [
    `From: Lee Lead <lee-${tag}@example.test>`,
    'To: sender@example.test',
    `Message-ID: <${tag}.${crypto.randomBytes(4).toString('hex')}@example.test>`,
    `Subject: message ${tag}`,
    'Date: Mon, 02 Mar 2026 12:00:00 +0000',
    '',
    `Body of ${tag}.${extraBody}`,
    '',
  ].join('\r\n');
}
