/**
 * The IMAP inbox reader against a real Dovecot: each message handed on exactly once, a new
 * reader (a restart) reads only what is new, a UIDVALIDITY change re-reads a bounded window
 * (ingestion drops what it already has), nothing deleted, nothing flagged unless asked, sizes
 * capped, refused logins recorded on the account with an alert after repeats, and a domain's
 * bounce mailbox read as one.
 */
import type { Db } from '../../../src/db/connection';
import { PROCESSED_KEYWORD } from '../../../src/inbound/readers/imap-reader';
import { createAccount, createClient } from '../../queue/fixtures';
import { useTestDatabase } from '../../helpers/database';
import { startImapPeer, type ImapPeer } from '../../peers/imap-peer';
import { deliverByImap, everyMailboxDue, fixture, plainMessage, poller, recorder, testCipher, withImap } from './reading-harness';

const database = useTestDatabase();
let db: Db;
beforeAll(() => {
  db = database.db;
});

async function imapAccount(peer: ImapPeer, pass = peer.pass): Promise<string> {
  const client = await createClient(db);
  const account = await createAccount(db, client.id, {
    transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525, imap: { host: peer.host, port: peer.port, secure: false } }),
    credentials_encrypted: testCipher.encrypt(JSON.stringify({ user: 'smtp-user', pass: 'smtp-pass', imapUser: peer.user, imapPass: pass })),
  });
  return account.id;
}

async function mailboxRow(accountId: string) {
  return db.selectFrom('inbound_mailboxes').selectAll().where('account_id', '=', accountId).executeTakeFirstOrThrow();
}

async function serverMessages(peer: ImapPeer): Promise<Array<{ uid: number; flags: string[] }>> {
  return withImap(peer, async (client) => {
    await client.mailboxOpen('INBOX', { readOnly: true });
    const messages = await client.fetchAll('1:*', { uid: true, flags: true });
    return messages.map((m) => ({ uid: m.uid, flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort() }));
  });
}

describe('IMAP inbox reader', () => {
  let peer: ImapPeer;
  beforeAll(async () => {
    peer = await startImapPeer({ user: 'reader@example.test', pass: 'reader-secret' });
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it('hands each new message on once, then only what arrived since, also after a restart; deletes and flags nothing', async () => {
    const accountId = await imapAccount(peer);
    const bounce = fixture('postfix/01-failed-local-unknown-user-5.1.1.eml');
    const reply = fixture('conversation/gmail-reply-quoted.eml');
    const complaint = fixture('complaint/arf-rfc5965-abuse-aol.eml');
    await deliverByImap(peer, [bounce, reply, complaint]);
    const before = await serverMessages(peer);

    const rec = recorder();
    const reader = poller(db, rec.deliver);
    await reader.drain();
    expect(rec.calls.map((c) => c.kind)).toEqual(['bounce', 'reply', 'complaint']);
    expect(rec.calls.every((c) => c.accountId === accountId && c.source === 'imap' && !c.duplicate && !c.truncated)).toBe(true);
    // Byte for byte, but for the CRLF line ends IMAP stores.
    expect(rec.calls[0]?.raw.toString('latin1').replace(/\r\n/g, '\n')).toBe(bounce.toString('latin1').replace(/\r\n/g, '\n'));
    const row = await mailboxRow(accountId);
    expect(Number(row.last_uid)).toBe(Math.max(...before.map((m) => m.uid)));
    expect(row).toMatchObject({ consecutive_failures: 0, last_error: null, claimed_by: null });

    // Due again, nothing new: nothing handed on.
    await everyMailboxDue(db);
    await reader.drain();
    expect(rec.calls).toHaveLength(3);

    // A new reader (the server restarted) on the same cursor: only the new message.
    await deliverByImap(peer, [plainMessage('after-restart')]);
    await reader.stop();
    const restarted = poller(db, rec.deliver);
    await everyMailboxDue(db);
    await restarted.drain();
    expect(rec.calls).toHaveLength(4);
    expect(rec.calls[3]?.raw.toString()).toContain('Body of after-restart.');
    expect(rec.calls[3]?.duplicate).toBe(false);
    await restarted.stop();

    // Read-only: every message still there, no flag set (\Seen included).
    const after = await serverMessages(peer);
    expect(after).toHaveLength(4);
    expect(after.slice(0, 3)).toEqual(before);
    expect(after.every((m) => m.flags.length === 0)).toBe(true);
  });

  it('reads from the account creation (or the look-back) on, never older mail', async () => {
    const other = await startImapPeer({ user: 'old@example.test', pass: 'old-secret' });
    try {
      await deliverByImap(other, [plainMessage('ten-days-old')], new Date(Date.now() - 10 * 86_400_000));
      await deliverByImap(other, [plainMessage('fresh')]);
      const accountId = await imapAccount(other);
      const rec = recorder();
      const reader = poller(db, rec.deliver);
      await reader.drain();
      await reader.stop();
      expect(rec.calls.filter((c) => c.accountId === accountId).map((c) => c.raw.toString().match(/Body of (\S+)\./)?.[1])).toEqual(['fresh']);
    } finally {
      await other.stop();
    }
  });
});

describe('IMAP inbox reader: UIDVALIDITY change', () => {
  it('re-reads only from a day before the newest message read; ingestion drops the ones it has, new ones arrive once', async () => {
    // A bounce mailbox named by the domain, so the test can renumber it: deleting and creating a
    // mailbox gives it a new UIDVALIDITY (Dovecot will not rename INBOX).
    const peer = await startImapPeer({ user: 'renumbered@example.test', pass: 'renumbered-secret' });
    try {
      await withImap(peer, (client) => client.mailboxCreate('Bounces'));
      const client = await createClient(db);
      const domain = await db
        .insertInto('sender_domains')
        .values({
          client_id: client.id,
          domain: `renumbered-${Date.now()}.test`,
          bounce_mailbox: JSON.stringify({ host: peer.host, port: peer.port, secure: false, user: peer.user, mailbox: 'Bounces' }),
          bounce_mailbox_secret_encrypted: testCipher.encrypt(JSON.stringify({ pass: peer.pass })),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const a = plainMessage('a');
      const b = plainMessage('b');
      const arrived = new Date();
      await withImap(peer, async (imap) => {
        for (const raw of [a, b]) await imap.append('Bounces', raw, [], arrived);
      });
      const rec = recorder();
      const reader = poller(db, rec.deliver);
      await reader.drain();
      const mailboxRowOf = () => db.selectFrom('inbound_mailboxes').selectAll().where('domain_id', '=', domain.id).executeTakeFirstOrThrow();
      const first = await mailboxRowOf();
      expect(rec.calls).toHaveLength(2);

      // Renumbered: the same two messages under new UIDs, one more arrived, and one from five
      // days ago (outside the re-read window) restored from a backup.
      await withImap(peer, async (imap) => {
        await imap.mailboxDelete('Bounces');
        await imap.mailboxCreate('Bounces');
        await imap.append('Bounces', plainMessage('restored-old'), [], new Date(Date.now() - 5 * 86_400_000));
        for (const raw of [a, b]) await imap.append('Bounces', raw, [], arrived);
        await imap.append('Bounces', plainMessage('c'));
      });

      await everyMailboxDue(db);
      await reader.drain();
      await reader.stop();
      const second = await mailboxRowOf();
      expect(second.uid_validity).not.toBe(first.uid_validity);
      expect(Number(second.last_uid)).toBe(4);
      const rereads = rec.calls.slice(2);
      expect(rereads.filter((c) => c.duplicate)).toHaveLength(2);
      expect(rereads.filter((c) => !c.duplicate).map((c) => c.raw.toString().match(/Body of (\S+)\./)?.[1])).toEqual(['c']);
      expect(rec.stored()).toHaveLength(3);
    } finally {
      await peer.stop();
    }
  });
});

describe('IMAP inbox reader: limits and marking', () => {
  it('cuts a message past maxMessageBytes and flags it truncated; reads at most maxMessagesPerPoll a poll, the rest next poll', async () => {
    const peer = await startImapPeer({ user: 'limits@example.test', pass: 'limits-secret' });
    try {
      await imapAccount(peer);
      await deliverByImap(peer, [plainMessage('big', 'x'.repeat(20_000)), plainMessage('m2'), plainMessage('m3'), plainMessage('m4'), plainMessage('m5')]);
      const rec = recorder();
      const reader = poller(db, rec.deliver, { settings: { maxMessageBytes: 4096, maxMessagesPerPoll: 2 } });
      await reader.drain();
      expect(rec.calls).toHaveLength(2);
      expect(rec.calls[0]).toMatchObject({ truncated: true });
      expect(rec.calls[0]?.raw.length).toBe(4096);
      expect(rec.calls[1]).toMatchObject({ truncated: false });
      await everyMailboxDue(db);
      await reader.drain();
      await everyMailboxDue(db);
      await reader.drain();
      await reader.stop();
      expect(rec.calls.map((c) => c.raw.toString().match(/Body of (\S+?)\./)?.[1])).toEqual(['big', 'm2', 'm3', 'm4', 'm5']);
      expect(rec.calls.every((c) => !c.duplicate)).toBe(true);
    } finally {
      await peer.stop();
    }
  });

  it.each([
    ['keyword', PROCESSED_KEYWORD],
    ['seen', '\\Seen'],
  ] as const)('markProcessed "%s" flags exactly the messages handed on with %s, and deletes nothing', async (markProcessed, flag) => {
    const peer = await startImapPeer({ user: `mark-${markProcessed}@example.test`, pass: 'mark-secret' });
    try {
      await imapAccount(peer);
      await deliverByImap(peer, [plainMessage('p1'), plainMessage('p2')]);
      const rec = recorder();
      const reader = poller(db, rec.deliver, { settings: { markProcessed } });
      await reader.drain();
      await deliverByImap(peer, [plainMessage('p3')]);
      const messages = await serverMessages(peer);
      expect(messages.map((m) => m.flags)).toEqual([[flag], [flag], []]);
      await everyMailboxDue(db);
      await reader.drain();
      await reader.stop();
      expect((await serverMessages(peer)).map((m) => m.flags)).toEqual([[flag], [flag], [flag]]);
      expect(rec.calls).toHaveLength(3);
    } finally {
      await peer.stop();
    }
  });
});

describe('IMAP inbox reader: failures', () => {
  // Dovecot delays repeated failed logins from one address (2, 4, 8 s): a slow test.
  it('records a refused login on the mailbox (never the password), alerts once after alertAfterFailures in a row, and clears it (resolving the alert) on success', async () => {
    const peer = await startImapPeer({ user: 'refused@example.test', pass: 'right-secret' });
    try {
      const accountId = await imapAccount(peer, 'wrong-secret-77');
      await deliverByImap(peer, [plainMessage('waiting')]);
      const rec = recorder();
      const reader = poller(db, rec.deliver, { settings: { alertAfterFailures: 2 } });
      for (let i = 0; i < 3; i += 1) {
        await everyMailboxDue(db);
        await reader.drain();
      }
      const failed = await mailboxRow(accountId);
      expect(failed.consecutive_failures).toBe(3);
      expect(failed.last_error).toBe(`IMAP login refused by 127.0.0.1:${peer.port}`);
      expect(failed.last_error).not.toContain('wrong-secret-77');
      const alerts = await db.selectFrom('alerts').selectAll().where('account_id', '=', accountId).execute();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ code: 'inbound_read_failed', severity: 'warning' });
      expect(alerts[0]?.message).toContain('could not be read 2 times in a row');
      expect(rec.calls).toHaveLength(0);

      // The operator fixes the password: the next poll reads what waited, and the error goes.
      await db
        .updateTable('sender_accounts')
        .set({ credentials_encrypted: testCipher.encrypt(JSON.stringify({ user: 'u', pass: 'p', imapUser: peer.user, imapPass: peer.pass })) })
        .where('id', '=', accountId)
        .execute();
      await everyMailboxDue(db);
      await reader.drain();
      await reader.stop();
      expect(rec.calls).toHaveLength(1);
      expect(await mailboxRow(accountId)).toMatchObject({ consecutive_failures: 0, last_error: null });
      // Read again: the alert is resolved (a "resolved" message goes where it went).
      const resolved = await db.selectFrom('alerts').select('resolved_at').where('account_id', '=', accountId).executeTakeFirstOrThrow();
      expect(resolved.resolved_at).not.toBeNull();
    } finally {
      await peer.stop();
    }
  }, 60_000);

  it('a delivery failure keeps the cursor before the message and does not count against the mailbox', async () => {
    const peer = await startImapPeer({ user: 'ingest-down@example.test', pass: 'ingest-secret' });
    try {
      const accountId = await imapAccount(peer);
      await deliverByImap(peer, [plainMessage('d1'), plainMessage('d2')]);
      const rec = recorder();
      let failNext = true;
      const reader = poller(db, async (message) => {
        // The second message fails once (ingestion's database away).
        if (message.raw.toString().includes('Body of d2.') && failNext) {
          failNext = false;
          throw new Error('database unavailable');
        }
        return rec.deliver(message);
      });
      await reader.drain();
      expect(rec.calls.map((c) => c.raw.toString().match(/Body of (\S+?)\./)?.[1])).toEqual(['d1']);
      expect(await mailboxRow(accountId)).toMatchObject({ consecutive_failures: 0 });
      await everyMailboxDue(db);
      await reader.drain();
      await reader.stop();
      expect(rec.calls.map((c) => c.raw.toString().match(/Body of (\S+?)\./)?.[1])).toEqual(['d1', 'd2']);
    } finally {
      await peer.stop();
    }
  });
});

describe('a sender domain\'s bounce mailbox', () => {
  it('is read like an inbox, handed on as source bounce_mailbox with no account and a source key of its own domain', async () => {
    const peer = await startImapPeer({ user: 'bounces@example.test', pass: 'bounce-secret' });
    try {
      const client = await createClient(db);
      const domain = await db
        .insertInto('sender_domains')
        .values({
          client_id: client.id,
          domain: `relay-${Date.now()}.test`,
          bounce_mailbox: JSON.stringify({ host: peer.host, port: peer.port, secure: false, user: peer.user }),
          bounce_mailbox_secret_encrypted: testCipher.encrypt(JSON.stringify({ pass: peer.pass })),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await deliverByImap(peer, [fixture('postfix/02-failed-remote-rcpt-550-5.1.1.eml')]);
      const rec = recorder();
      const reader = poller(db, rec.deliver);
      await reader.drain();
      await reader.stop();
      const mine = rec.calls.filter((c) => c.source === 'bounce_mailbox');
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ accountId: null, kind: 'bounce' });
      expect(mine[0]?.sourceKey.startsWith(`${domain.id}:`)).toBe(true);
      const row = await db.selectFrom('inbound_mailboxes').selectAll().where('domain_id', '=', domain.id).executeTakeFirstOrThrow();
      expect(row.last_uid).not.toBeNull();
      // No longer read once the setting is removed (its cursor is kept for when it comes back).
      await db.updateTable('sender_domains').set({ bounce_mailbox: null }).where('id', '=', domain.id).execute();
      await deliverByImap(peer, [fixture('postfix/01-failed-local-unknown-user-5.1.1.eml')]);
      await everyMailboxDue(db);
      const again = poller(db, rec.deliver);
      await again.drain();
      await again.stop();
      expect(rec.calls.filter((c) => c.source === 'bounce_mailbox')).toHaveLength(1);
      expect((await db.selectFrom('inbound_mailboxes').select('last_read_at').where('domain_id', '=', domain.id).executeTakeFirstOrThrow()).last_read_at).toEqual(row.last_read_at);
    } finally {
      await peer.stop();
    }
  });
});
