/**
 * The reading pool's schedule: new mailboxes spread evenly over the interval, each keeping its
 * place in it after a poll or an outage, no more than inbound.concurrency polls at once, and two
 * nodes on one database never reading the same mailbox (each message handed on once).
 */
import { sql } from 'kysely';
import type { Db } from '../../../src/db/connection';
import { addReadableMailboxes, claimDueMailboxes } from '../../../src/inbound/readers/inbound-mailbox.repository';
import type { InboundMessage } from '../../../src/inbound/readers/inbound-delivery';
import { createAccount, createClient } from '../../queue/fixtures';
import { useTestDatabase } from '../../helpers/database';
import { startImapPeer, type ImapPeer } from '../../peers/imap-peer';
import { deliverByImap, everyMailboxDue, plainMessage, poller, recorder, testCipher, withImap } from './reading-harness';

const database = useTestDatabase();
let db: Db;
let peer: ImapPeer;
beforeAll(async () => {
  db = database.db;
  peer = await startImapPeer({ user: 'pool@example.test', pass: 'pool-secret' });
});
afterAll(async () => {
  await peer?.stop();
});
beforeEach(async () => {
  await db.deleteFrom('sender_accounts').execute();
});

/** Accounts that all read the peer's one mailbox (each its own cursor). */
async function readingAccounts(count: number): Promise<string[]> {
  const client = await createClient(db);
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const account = await createAccount(db, client.id, {
      transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525, imap: { host: peer.host, port: peer.port, secure: false } }),
      credentials_encrypted: testCipher.encrypt(JSON.stringify({ user: peer.user, pass: peer.pass })),
    });
    ids.push(account.id);
  }
  return ids;
}

const INTERVAL_MS = 300_000;
const ACTIVE_INTERVAL_MS = 60_000;
const SCHEDULE = { intervalMs: INTERVAL_MS, activeIntervalMs: ACTIVE_INTERVAL_MS, activeWindowMs: 3_600_000, claimMs: 60_000 };

async function offsetsMs(): Promise<number[]> {
  const { rows } = await sql<{ offset_ms: number }>`
    select extract(epoch from next_poll_at - created_at) * 1000 as offset_ms from inbound_mailboxes order by next_poll_at`.execute(db);
  return rows.map((r) => Number(r.offset_ms));
}

describe('the reading schedule', () => {
  it('spreads mailboxes added together evenly over one interval, and reads only accounts with somewhere to read', async () => {
    await readingAccounts(10);
    const client = await createClient(db);
    await createAccount(db, client.id, {}); // SMTP without IMAP settings: nothing to read
    await createAccount(db, client.id, { transport: 'gmail', transport_settings: '{}', status: 'disabled' });
    expect(await addReadableMailboxes(db, INTERVAL_MS, 86_400_000)).toBe(10);
    expect(await addReadableMailboxes(db, INTERVAL_MS, 86_400_000)).toBe(0);
    const offsets = await offsetsMs();
    // 0, 30 s, 60 s … 270 s after they were added (to the database clock's microsecond).
    offsets.forEach((offset, i) => expect(Math.abs(offset - (i * INTERVAL_MS) / 10)).toBeLessThan(5));
  });

  it('moves a claimed mailbox a whole number of intervals on, so it keeps its place even after an outage', async () => {
    const [punctual, late] = await readingAccounts(2);
    await addReadableMailboxes(db, INTERVAL_MS, 86_400_000);
    // One due right now, one whose poll was missed 3.5 intervals ago (the node was down).
    await sql`update inbound_mailboxes set next_poll_at = now() - interval '1 millisecond' where account_id = ${punctual}`.execute(db);
    await sql`update inbound_mailboxes set next_poll_at = now() - interval '1050 seconds' where account_id = ${late}`.execute(db);
    const before = await db.selectFrom('inbound_mailboxes').select(['account_id', 'next_poll_at']).execute();
    const claimed = await claimDueMailboxes(db, 'node-a', 10, SCHEDULE);
    expect(claimed.map((c) => c.accountId).sort()).toEqual([punctual, late].sort());
    const after = new Map((await db.selectFrom('inbound_mailboxes').select(['account_id', 'next_poll_at', 'claimed_by']).execute()).map((r) => [r.account_id, r]));
    for (const row of before) {
      const moved = after.get(row.account_id)!.next_poll_at.getTime() - row.next_poll_at.getTime();
      expect(moved).toBe(row.account_id === late ? 4 * INTERVAL_MS : INTERVAL_MS);
      expect(after.get(row.account_id)!.claimed_by).toBe('node-a');
    }
    // Claimed: no other node (or pass) gets them until released.
    await sql`update inbound_mailboxes set next_poll_at = now() - interval '1 second'`.execute(db);
    expect(await claimDueMailboxes(db, 'node-b', 10, SCHEDULE)).toEqual([]);
  });
  it('reads the inbox of a mailbox that is sending every activePollIntervalSeconds, so its bounces pause it after at most one more send', async () => {
    const [sending, idle] = (await readingAccounts(2)) as [string, string];
    await addReadableMailboxes(db, INTERVAL_MS, 86_400_000);
    // The worker sets next_send_at after each send: this one sent a minute ago (next allowed in 30 s).
    await sql`update sender_accounts set next_send_at = now() + interval '30 seconds' where id = ${sending}`.execute(db);
    await sql`update sender_accounts set next_send_at = now() - interval '2 hours' where id = ${idle}`.execute(db);
    await sql`update inbound_mailboxes set next_poll_at = now() - interval '1 millisecond'`.execute(db);
    const before = new Map((await db.selectFrom('inbound_mailboxes').select(['account_id', 'next_poll_at']).execute()).map((r) => [r.account_id, r.next_poll_at.getTime()]));
    await claimDueMailboxes(db, 'node-a', 10, SCHEDULE);
    const after = new Map((await db.selectFrom('inbound_mailboxes').select(['account_id', 'next_poll_at']).execute()).map((r) => [r.account_id, r.next_poll_at.getTime()]));
    expect(after.get(sending)! - before.get(sending)!).toBe(ACTIVE_INTERVAL_MS);
    expect(after.get(idle)! - before.get(idle)!).toBe(INTERVAL_MS);
  });
});

describe('the reading pool', () => {
  it('never runs more than inbound.concurrency polls at once, and reads every mailbox', async () => {
    const ids = await readingAccounts(6);
    await addReadableMailboxes(db, INTERVAL_MS, 86_400_000);
    await everyMailboxDue(db);
    await deliverByImap(peer, [plainMessage(`c-${Date.now()}`)]);
    const rec = recorder();
    const claimedAtGate: number[] = [];
    let waiting: Array<() => void> = [];
    // Each poll holds its delivery until a second poll is in its delivery too: a pair at a time.
    const gated = async (message: InboundMessage) => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from inbound_mailboxes where claimed_by is not null`.execute(db);
      claimedAtGate.push(rows[0]?.n ?? 0);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 2) {
          for (const release of waiting) release();
          waiting = [];
        }
      });
      return rec.deliver(message);
    };
    const reader = poller(db, gated, { settings: { concurrency: 2 } });
    await reader.drain();
    await reader.stop();
    expect(claimedAtGate).toHaveLength(6);
    expect(Math.max(...claimedAtGate)).toBe(2);
    expect(new Set(rec.calls.map((c) => c.accountId))).toEqual(new Set(ids));
  });

  it('two nodes on one database read every mailbox once between them', async () => {
    const ids = await readingAccounts(8);
    await addReadableMailboxes(db, INTERVAL_MS, 86_400_000);
    await everyMailboxDue(db);
    await deliverByImap(peer, [plainMessage(`n-${Date.now()}`)]);
    const rec = recorder();
    const nodeA = poller(db, rec.deliver, { nodeId: 'node-a', settings: { concurrency: 3 } });
    const nodeB = poller(db, rec.deliver, { nodeId: 'node-b', settings: { concurrency: 3 } });
    await Promise.all([nodeA.drain(), nodeB.drain()]);
    await Promise.all([nodeA.stop(), nodeB.stop()]);
    // Every account read every message of the mailbox, once.
    const inMailbox = await withImap(peer, async (client) => { const status = await client.status('INBOX', { messages: true }); return status ? (status.messages ?? 0) : 0; });
    expect(rec.calls).toHaveLength(ids.length * inMailbox);
    expect(rec.calls.every((c) => !c.duplicate)).toBe(true);
    for (const id of ids) expect(rec.calls.filter((c) => c.accountId === id)).toHaveLength(inMailbox);
  });
});
