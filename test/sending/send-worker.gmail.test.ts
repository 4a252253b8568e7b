import { enqueueCampaign } from '../../src/queue/enqueue';
import { sweepExpiredLeases } from '../../src/queue/sweeper';
import { transportForAccount } from '../../src/sending/account-transport';
import { useTestDatabase } from '../helpers/database';
import { startGmailEmulator, type GmailEmulator } from '../peers/gmail-emulator';
import { addContacts, createAccount, createCampaign, createClient, queueRows } from '../queue/fixtures';
import { ControlledClock, makeWorker, runUntil, testCipher } from './worker-harness';

const database = useTestDatabase();
const START = new Date('2026-03-02T12:00:00Z');

let emulator: GmailEmulator;
const oauth = { clientId: 'client-1', clientSecret: 'client-secret', refreshToken: 'refresh-1' };

beforeAll(async () => {
  emulator = await startGmailEmulator({ oauthClients: [{ ...oauth, userEmail: 'gmail-sender@workspace.test' }] });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.sendScript = () => undefined;
  emulator.tokenScript = () => undefined;
  await database.db.deleteFrom('circuit_breakers').execute();
});

async function scenario() {
  const client = await createClient(database.db);
  // One Gmail mailbox per test: the emulator knows one user, so each test takes it over.
  await database.db.deleteFrom('sender_accounts').where('email', '=', 'gmail-sender@workspace.test').execute();
  const account = await createAccount(database.db, client.id, {
    email: 'gmail-sender@workspace.test',
    transport: 'gmail',
    transport_settings: '{}',
    credentials_encrypted: testCipher.encrypt(JSON.stringify({ type: 'oauth2', client_id: oauth.clientId, client_secret: oauth.clientSecret, refresh_token: oauth.refreshToken })),
  });
  const other = await createAccount(database.db, client.id);
  const campaign = await createCampaign(database.db, client.id, { senders: [account.id, other.id] });
  await addContacts(database.db, client.id, campaign.id, 1);
  await enqueueCampaign(database.db, campaign.id, START, { messageIdDomain: 'gmail.test' });
  return { account, campaign };
}

async function gmailTransport(accountId: string) {
  const account = await database.db.selectFrom('sender_accounts').selectAll().where('id', '=', accountId).executeTakeFirstOrThrow();
  return transportForAccount(account, testCipher, { gmailRootUrl: emulator.rootUrl, gmailTokenUrl: emulator.tokenUrl });
}

async function run(accountId: string, done: () => Promise<boolean>) {
  const transport = await gmailTransport(accountId);
  const { worker } = makeWorker(database.db, accountId, transport, new ControlledClock(START.getTime()));
  try {
    return await runUntil(worker, done);
  } finally {
    await transport.close();
  }
}

const firstRow = async (campaignId: string) => (await queueRows(database.db, campaignId))[0]!;
const accountRow = (id: string) => database.db.selectFrom('sender_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('send worker with the real Gmail API client against the emulator', () => {
  it('200: the row is sent once through users.messages.send', async () => {
    const { account, campaign } = await scenario();
    await run(account.id, async () => (await firstRow(campaign.id)).status === 'sent');
    const row = await firstRow(campaign.id);
    expect(emulator.sent.filter((m) => m.messageId === row.message_id)).toHaveLength(1);
  });

  it('429 with Retry-After: the row waits at least that long before its retry', async () => {
    const { account, campaign } = await scenario();
    emulator.sendScript = () => ({ status: 429, reason: 'rateLimitExceeded', message: 'User-rate limit exceeded', retryAfterSeconds: 900 });
    await run(account.id, async () => (await firstRow(campaign.id)).attempts === 1);
    const row = await firstRow(campaign.id);
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row.run_after.getTime()).toBeGreaterThanOrEqual(START.getTime() + 900_000);
  });

  it('403 dailyLimitExceeded: the mailbox is paused and the row goes back to the pool', async () => {
    const { account, campaign } = await scenario();
    emulator.sendScript = () => ({ status: 403, reason: 'dailyLimitExceeded', message: 'Daily user sending quota exceeded' });
    await run(account.id, async () => (await accountRow(account.id)).status === 'paused');
    expect(await accountRow(account.id)).toMatchObject({ pause_reason: 'sender_reputation' });
    expect(await firstRow(campaign.id)).toMatchObject({ status: 'queued', account_id: null, attempts: 0 });
  });

  it('401 invalid_grant at the token endpoint: the account is suspended and alerted', async () => {
    const { account, campaign } = await scenario();
    emulator.tokenScript = () => ({ status: 400, reason: 'invalid_grant', message: 'Token has been expired or revoked.' });
    const exit = await run(account.id, async () => false);
    expect(exit.reason).toBe('inactive');
    expect(await accountRow(account.id)).toMatchObject({ status: 'suspended', pause_reason: 'auth_failed' });
    const row = await firstRow(campaign.id);
    expect(row).toMatchObject({ status: 'queued', account_id: null });
    expect(emulator.sent.some((m) => m.messageId === row.message_id)).toBe(false);
    expect(await database.db.selectFrom('alerts').select('code').where('account_id', '=', account.id).execute()).toEqual([{ code: 'account_auth_failed' }]);
  });

  it('a send whose answer never came is found by its Message-ID in Sent mail and recorded sent, not resent', async () => {
    const { account, campaign } = await scenario();
    emulator.sendScript = () => ({ status: 0 });
    await run(account.id, async () => (await firstRow(campaign.id)).status === 'unknown');
    const report = await sweepExpiredLeases(database.db, START, { unknownPolicy: 'requeue', transportFor: (id) => gmailTransport(id) });
    expect(report).toMatchObject({ reconciledSent: 1, requeuedUnknown: 0 });
    const row = await firstRow(campaign.id);
    expect(row.status).toBe('sent');
    expect(emulator.sent.filter((m) => m.messageId === row.message_id)).toHaveLength(1);
  });
});
