import { sql } from 'kysely';
import { claimBatch } from '../../src/queue/claim';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { markSending } from '../../src/queue/queue.repository';
import { recordAccepted, type RecordContext } from '../../src/sending/result-recorder';
import { useTestDatabase } from '../helpers/database';
import { addContacts, createAccount, createCampaign, createClient, liftedClaimSettings, queueRows, recordSettings } from './fixtures';

const database = useTestDatabase();
const NOW = new Date('2026-03-02T10:00:00Z');

async function sendAllDue(accountId: string, email: string, now: Date) {
  const claim = await claimBatch(database.db, accountId, now, liftedClaimSettings({ batchSize: 100 }));
  if (claim.kind !== 'claimed') return 0;
  await markSending(database.db, claim.rows.map((r) => r.id), claim.leaseToken, now, new Date(now.getTime() + 60_000));
  const ctx: RecordContext = { accountId, accountEmail: email, clientId: claim.account.client_id, accountTimeZone: 'UTC', providerKey: 'smtp:test', leaseToken: claim.leaseToken, probe: false, settings: recordSettings(), random: () => 0.5 };
  return recordAccepted(database.db, ctx, claim.rows.map((row) => ({ row, result: { outcome: 'accepted' as const, code: 250, response: '250 ok' }, durationMs: 1 })), now);
}

describe('enqueueCampaign', () => {
  it('queues step 1 for every active, unsuppressed contact with a Message-ID on the tracking domain, counting suppressed ones', async () => {
    const client = await createClient(database.db, { trackingDomain: 'Track.Example.com' });
    const account = await createAccount(database.db, client.id);
    const campaign = await createCampaign(database.db, client.id, { senders: [account.id] });
    const contacts = await addContacts(database.db, client.id, campaign.id, 5);
    await database.db.insertInto('suppressions').values({ client_id: client.id, email: contacts[1]!.email, reason: 'unsubscribed' }).execute();
    await database.db.updateTable('campaign_contacts').set({ status: 'replied' }).where('contact_id', '=', contacts[2]!.id).execute();

    const result = await enqueueCampaign(database.db, campaign.id, NOW, { messageIdDomain: 'enqueue.test' });

    expect(result).toEqual({ queued: 3, skippedSuppressed: 1 });
    const rows = await queueRows(database.db, campaign.id);
    expect(rows.map((r) => r.to_email).sort()).toEqual([contacts[0]!.email, contacts[3]!.email, contacts[4]!.email].sort());
    for (const row of rows) {
      expect(row.message_id).toMatch(/^<[0-9a-f-]{36}@track\.example\.com>$/);
      expect(row).toMatchObject({ status: 'queued', step_number: 1, account_id: null, recipient_domain: 'example.test' });
      expect(row.run_after.toISOString()).toBe(NOW.toISOString());
    }
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(3);
  });

  it('adds nothing when run again, and keeps the Message-IDs it fixed', async () => {
    const client = await createClient(database.db);
    const account = await createAccount(database.db, client.id);
    const campaign = await createCampaign(database.db, client.id, { senders: [account.id] });
    await addContacts(database.db, client.id, campaign.id, 4);
    await enqueueCampaign(database.db, campaign.id, NOW, { messageIdDomain: 'enqueue.test' });
    const before = await queueRows(database.db, campaign.id);

    const again = await enqueueCampaign(database.db, campaign.id, new Date(NOW.getTime() + 60_000), { messageIdDomain: 'enqueue.test' });

    expect(again.queued).toBe(0);
    expect((await queueRows(database.db, campaign.id)).map((r) => r.message_id)).toEqual(before.map((r) => r.message_id));
  });

  it('uses the client sender domain, then the configured domain, when the client has no tracking domain', async () => {
    const plain = await createClient(database.db);
    const account = await createAccount(database.db, plain.id);
    const campaign = await createCampaign(database.db, plain.id, { senders: [account.id] });
    await addContacts(database.db, plain.id, campaign.id, 1);
    await enqueueCampaign(database.db, campaign.id, NOW, { messageIdDomain: 'fallback.example' });
    expect((await queueRows(database.db, campaign.id))[0]!.message_id).toMatch(/@fallback\.example>$/);

    const withDomain = await createClient(database.db);
    await database.db.insertInto('sender_domains').values({ client_id: withDomain.id, domain: `mail-${Date.now()}.example.org`, dns_check_details: '{}' }).execute();
    const account2 = await createAccount(database.db, withDomain.id);
    const campaign2 = await createCampaign(database.db, withDomain.id, { senders: [account2.id] });
    await addContacts(database.db, withDomain.id, campaign2.id, 1);
    await enqueueCampaign(database.db, campaign2.id, NOW, { messageIdDomain: 'enqueue.test' });
    expect((await queueRows(database.db, campaign2.id))[0]!.message_id).toMatch(/@mail-\d+\.example\.org>$/);
  });

  it('refuses an unknown campaign', async () => {
    await expect(enqueueCampaign(database.db, '00000000-0000-4000-8000-000000000000', NOW, { messageIdDomain: 'enqueue.test' })).rejects.toThrow(/no campaign/);
  });
});

describe('follow-up steps', () => {
  it('queue the next step for the mailbox that sent step 1, after its delay, in the same thread', async () => {
    const client = await createClient(database.db);
    const a = await createAccount(database.db, client.id);
    const b = await createAccount(database.db, client.id);
    const campaign = await createCampaign(database.db, client.id, { senders: [a.id, b.id], steps: [{ delayMinutes: 0 }, { delayMinutes: 3 * 24 * 60 }, { delayMinutes: 60 }] });
    await addContacts(database.db, client.id, campaign.id, 3);
    await enqueueCampaign(database.db, campaign.id, NOW, { messageIdDomain: 'enqueue.test' });

    expect(await sendAllDue(a.id, a.email, NOW)).toBe(3);

    const rows = await queueRows(database.db, campaign.id);
    const step2 = rows.filter((r) => r.step_number === 2);
    expect(step2).toHaveLength(3);
    for (const row of step2) {
      expect(row).toMatchObject({ status: 'queued', account_id: a.id });
      expect(row.run_after.toISOString()).toBe(new Date(NOW.getTime() + 3 * 86_400_000).toISOString());
    }
    const links = await database.db.selectFrom('campaign_contacts').select(['account_id', 'thread_message_id', 'contact_id']).where('campaign_id', '=', campaign.id).execute();
    const step1ByContact = new Map(rows.filter((r) => r.step_number === 1).map((r) => [r.contact_id, r.message_id]));
    for (const link of links) {
      expect(link.account_id).toBe(a.id);
      expect(link.thread_message_id).toBe(step1ByContact.get(link.contact_id));
    }

    // Account b is in the pool but may not take a follow-up: it belongs to a's thread.
    const later = new Date(NOW.getTime() + 3 * 86_400_000 + 1000);
    expect((await claimBatch(database.db, b.id, later, liftedClaimSettings())).kind).toBe('wait');
    expect(await sendAllDue(a.id, a.email, later)).toBe(3);
    expect((await queueRows(database.db, campaign.id)).filter((r) => r.step_number === 3)).toHaveLength(3);
  });

  it('are not queued for contacts who replied, bounced or are suppressed, and a contact with no step left is finished', async () => {
    const client = await createClient(database.db);
    const a = await createAccount(database.db, client.id);
    const campaign = await createCampaign(database.db, client.id, { senders: [a.id], steps: [{ delayMinutes: 0 }, { delayMinutes: 10 }] });
    const contacts = await addContacts(database.db, client.id, campaign.id, 4);
    await enqueueCampaign(database.db, campaign.id, NOW, { messageIdDomain: 'enqueue.test' });
    const claim = await claimBatch(database.db, a.id, NOW, liftedClaimSettings());
    if (claim.kind !== 'claimed') throw new Error('expected a claim');
    // Between claim and result: one replies, one unsubscribes.
    await database.db.updateTable('campaign_contacts').set({ status: 'replied' }).where('contact_id', '=', contacts[0]!.id).execute();
    await database.db.insertInto('suppressions').values({ client_id: client.id, email: contacts[1]!.email, reason: 'unsubscribed' }).execute();
    await markSending(database.db, claim.rows.map((r) => r.id), claim.leaseToken, NOW, new Date(NOW.getTime() + 60_000));
    const ctx: RecordContext = { accountId: a.id, accountEmail: a.email, clientId: claim.account.client_id, accountTimeZone: 'UTC', providerKey: 'smtp:test', leaseToken: claim.leaseToken, probe: false, settings: recordSettings(), random: () => 0.5 };
    await recordAccepted(database.db, ctx, claim.rows.map((row) => ({ row, result: { outcome: 'accepted' as const, response: '250 ok' }, durationMs: 1 })), NOW);

    const step2 = (await queueRows(database.db, campaign.id)).filter((r) => r.step_number === 2);
    expect(step2.map((r) => r.contact_id).sort()).toEqual([contacts[2]!.id, contacts[3]!.id].sort());

    expect(await sendAllDue(a.id, a.email, new Date(NOW.getTime() + 11 * 60_000))).toBe(2);
    const statuses = await database.db.selectFrom('campaign_contacts').select(['contact_id', 'status']).where('campaign_id', '=', campaign.id).execute();
    const byContact = Object.fromEntries(statuses.map((s) => [s.contact_id, s.status]));
    expect(byContact[contacts[0]!.id]).toBe('replied');
    expect(byContact[contacts[2]!.id]).toBe('finished');
    expect(byContact[contacts[3]!.id]).toBe('finished');
    const logs = await sql<{ n: number }>`select count(*)::int as n from send_logs where campaign_id = ${campaign.id} and outcome = 'accepted'`.execute(database.db);
    expect(logs.rows[0]!.n).toBe(6);
  });
});
