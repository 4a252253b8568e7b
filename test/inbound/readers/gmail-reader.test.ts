/**
 * The Gmail API inbox reader through the real `@googleapis/gmail` client against the local
 * emulator: a first read by messages.list, then users.history.list from the stored historyId
 * (INBOX only: our own sent mail is not read), a resync by date when the history expired (what
 * is found again is a duplicate ingestion drops), labels only when markProcessed is on, and a
 * refused token recorded on the mailbox.
 */
import crypto from 'node:crypto';
import type { Db } from '../../../src/db/connection';
import { PROCESSED_LABEL } from '../../../src/inbound/readers/gmail-reader';
import { createAccount, createClient } from '../../queue/fixtures';
import { useTestDatabase } from '../../helpers/database';
import { startGmailEmulator, type GmailEmulator } from '../../peers/gmail-emulator';
import { everyMailboxDue, fixture, plainMessage, poller, recorder, testCipher } from './reading-harness';

const database = useTestDatabase();
let db: Db;
let emulator: GmailEmulator;
const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const serviceAccount = { clientEmail: 'reader@acme-project.iam.gserviceaccount.test', publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() };

beforeAll(async () => {
  db = database.db;
  emulator = await startGmailEmulator({ serviceAccounts: [serviceAccount] });
});
afterAll(async () => {
  await emulator?.close();
});

let n = 0;
async function gmailAccount(key = privateKey): Promise<{ id: string; email: string }> {
  const client = await createClient(db);
  return createAccount(db, client.id, {
    email: `inbox-${Date.now()}-${n++}@acme.test`,
    transport: 'gmail',
    transport_settings: '{}',
    credentials_encrypted: testCipher.encrypt(JSON.stringify({ type: 'service_account', client_email: serviceAccount.clientEmail, private_key: key })),
  });
}

const endpoints = () => ({ gmail: { rootUrl: emulator.rootUrl, tokenUrl: emulator.tokenUrl } });
const bodyTag = (raw: Buffer) => raw.toString().match(/Body of (\S+?)\./)?.[1];
const apiPath = (r: { path: string }) => r.path.replace(/^\/gmail\/v1\/users\/[^/]+\//, '');
const requestsOf = (email: string, from: number) => emulator.apiRequests.slice(from).filter((r) => r.userEmail === email);

describe('Gmail inbox reader', () => {
  it('reads the inbox once by date, then only what history adds to INBOX, each message once', async () => {
    const account = await gmailAccount();
    emulator.deliverToInbox(account.email, fixture('postfix/01-failed-local-unknown-user-5.1.1.eml').toString('latin1'));
    emulator.deliverToInbox(account.email, plainMessage('g1'));
    emulator.deliverToInbox(account.email, plainMessage('too-old'), { internalDate: new Date(Date.now() - 3 * 86_400_000) });
    const rec = recorder();
    const reader = poller(db, rec.deliver, endpoints());
    await reader.drain();
    expect(rec.calls.map((c) => c.kind)).toEqual(['bounce', 'unmatched']);
    expect(rec.calls.every((c) => c.accountId === account.id && c.source === 'gmail' && !c.duplicate)).toBe(true);
    expect(rec.calls.map((c) => c.sourceKey)).toEqual(emulator.mailbox.filter((m) => m.userEmail === account.email && bodyTag(Buffer.from(m.raw)) !== 'too-old').map((m) => m.id));
    const row = await db.selectFrom('inbound_mailboxes').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(row.gmail_history_id).not.toBeNull();

    // Nothing new: one history call, nothing fetched.
    let mark = emulator.apiRequests.length;
    await everyMailboxDue(db);
    await reader.drain();
    expect(requestsOf(account.email, mark).map(apiPath)).toEqual(['history']);
    expect(rec.calls).toHaveLength(2);

    // A reply arrives and the mailbox sends one (SENT only): the reply alone is read, from history.
    emulator.deliverToInbox(account.email, plainMessage('g2'));
    emulator.mailbox.push({ ...emulator.mailbox.at(-1)!, id: 'sent-by-us', labelIds: ['SENT'], raw: plainMessage('sent'), historyId: emulator.mailbox.at(-1)!.historyId });
    mark = emulator.apiRequests.length;
    await everyMailboxDue(db);
    await reader.drain();
    await reader.stop();
    expect(rec.calls.map((c) => bodyTag(c.raw))).toEqual([undefined, 'g1', 'g2']);
    const paths = requestsOf(account.email, mark).map(apiPath);
    expect(paths).toEqual(['history', expect.stringMatching(/^messages\/[0-9a-f]+$/)]);
    // Read-only: nothing labelled, UNREAD left alone.
    expect(emulator.apiRequests.some((r) => r.userEmail === account.email && r.method === 'POST')).toBe(false);
    expect(emulator.mailbox.filter((m) => m.userEmail === account.email && m.labelIds.includes('INBOX')).every((m) => m.labelIds.includes('UNREAD'))).toBe(true);
    // And it asked only for reading.
    expect(emulator.tokenRequests.filter((t) => t.userEmail === account.email).map((t) => t.scope)).toEqual(expect.arrayContaining(['https://www.googleapis.com/auth/gmail.readonly']));
    expect(emulator.tokenRequests.some((t) => t.userEmail === account.email && t.scope?.includes('modify'))).toBe(false);
  });

  it('resyncs by date when history expired (404): new mail once, the mail found again is a duplicate ingestion drops', async () => {
    const account = await gmailAccount();
    emulator.deliverToInbox(account.email, plainMessage('r1'));
    const rec = recorder();
    const reader = poller(db, rec.deliver, endpoints());
    await reader.drain();
    expect(rec.calls).toHaveLength(1);

    emulator.deliverToInbox(account.email, plainMessage('r2'));
    emulator.expireHistory(account.email);
    emulator.deliverToInbox(account.email, plainMessage('r3'));
    const mark = emulator.apiRequests.length;
    await everyMailboxDue(db);
    await reader.drain();
    const paths = requestsOf(account.email, mark).map(apiPath);
    expect(paths.slice(0, 3)).toEqual(['history', 'profile', 'messages']);
    expect(rec.stored().map((c) => bodyTag(c.raw))).toEqual(['r1', 'r2', 'r3']);
    expect(rec.calls.filter((c) => c.duplicate).map((c) => bodyTag(c.raw))).toEqual(['r1']);

    // Back on history from the point the resync took.
    emulator.deliverToInbox(account.email, plainMessage('r4'));
    const after = emulator.apiRequests.length;
    await everyMailboxDue(db);
    await reader.drain();
    await reader.stop();
    expect(requestsOf(account.email, after).map(apiPath)[0]).toBe('history');
    expect(rec.calls.slice(-1).map((c) => [bodyTag(c.raw), c.duplicate])).toEqual([['r4', false]]);
  });

  it.each([
    ['keyword', (labels: string[], processed: string) => labels.includes(processed) && labels.includes('UNREAD')],
    ['seen', (labels: string[]) => !labels.includes('UNREAD')],
  ] as const)('markProcessed "%s" labels exactly the messages read', async (markProcessed, marked) => {
    const account = await gmailAccount();
    emulator.deliverToInbox(account.email, plainMessage('k1'));
    emulator.deliverToInbox(account.email, plainMessage('k2'));
    const rec = recorder();
    const reader = poller(db, rec.deliver, { ...endpoints(), settings: { markProcessed } });
    await reader.drain();
    emulator.deliverToInbox(account.email, plainMessage('k3'));
    const processed = emulator.labels(account.email).get(PROCESSED_LABEL) ?? PROCESSED_LABEL;
    const inbox = emulator.mailbox.filter((m) => m.userEmail === account.email);
    expect(inbox.map((m) => marked(m.labelIds, processed))).toEqual([true, true, false]);
    await everyMailboxDue(db);
    await reader.drain();
    await reader.stop();
    expect(emulator.mailbox.filter((m) => m.userEmail === account.email).map((m) => marked(m.labelIds, processed))).toEqual([true, true, true]);
    expect(emulator.mailbox.filter((m) => m.userEmail === account.email)).toHaveLength(3);
    expect(emulator.tokenRequests.filter((t) => t.userEmail === account.email).every((t) => t.scope === 'https://www.googleapis.com/auth/gmail.modify')).toBe(true);
  });

  it('records a refused token on the mailbox, naming no key', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const account = await gmailAccount(other);
    const rec = recorder();
    const reader = poller(db, rec.deliver, endpoints());
    await reader.drain();
    await reader.stop();
    const row = await db.selectFrom('inbound_mailboxes').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(row.consecutive_failures).toBe(1);
    expect(row.last_error).toMatch(new RegExp(`^Gmail ${account.email}: token request refused: 400 invalid_grant`));
    expect(row.last_error).not.toContain('PRIVATE KEY');
    expect(rec.calls.filter((c) => c.accountId === account.id)).toHaveLength(0);
  });
});
