/**
 * The server's wiring: what the IMAP reader reads from Dovecot goes into ingestion
 * (inboundDeliveryTarget → ingestInboundMessage) and is stored once, however often it is read.
 */
import { inboundDeliveryTarget } from '../../../src/inbound/readers/delivery-target';
import { createAccount, createClient } from '../../queue/fixtures';
import { useTestDatabase } from '../../helpers/database';
import { testConfig } from '../../http/admin-api.helpers';
import { startImapPeer } from '../../peers/imap-peer';
import { deliverByImap, everyMailboxDue, fixture, poller, testCipher } from './reading-harness';

const t = useTestDatabase();

it('stores each message read from an inbox once, through ingestion, across re-reads', async () => {
  const peer = await startImapPeer({ user: 'ingest@example.test', pass: 'ingest-secret' });
  try {
    const client = await createClient(t.db);
    const account = await createAccount(t.db, client.id, {
      transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525, imap: { host: peer.host, port: peer.port, secure: false } }),
      credentials_encrypted: testCipher.encrypt(JSON.stringify({ user: peer.user, pass: peer.pass })),
    });
    await deliverByImap(peer, [fixture('postfix/01-failed-local-unknown-user-5.1.1.eml'), fixture('complaint/arf-rfc5965-abuse-aol.eml')]);
    const deliver = inboundDeliveryTarget(t.db, testConfig());
    const reader = poller(t.db, deliver);
    await reader.drain();
    // Read again from scratch (a lost cursor): ingestion keeps one of each.
    await t.db.updateTable('inbound_mailboxes').set({ uid_validity: null, last_uid: null }).execute();
    await everyMailboxDue(t.db);
    await reader.drain();
    await reader.stop();
    const stored = await t.db.selectFrom('inbound_messages').select(['account_id', 'source', 'kind']).orderBy('id').execute();
    expect(stored).toEqual([
      { account_id: account.id, source: 'imap', kind: 'bounce' },
      { account_id: account.id, source: 'imap', kind: 'complaint' },
    ]);
  } finally {
    await peer.stop();
  }
});
