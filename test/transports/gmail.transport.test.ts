import crypto from 'node:crypto';
import { isDeliveryUncertain } from '../../src/transports/classify';
import { createGmailTransport } from '../../src/transports/gmail.transport';
import { composeMessage } from '../../src/transports/mime';
import type { OutgoingMessage, Transport } from '../../src/transports/transport';
import { startGmailEmulator, type GmailEmulator } from '../peers/gmail-emulator';

const MAILBOX = 'ann@acme.test';

function message(n: number): OutgoingMessage {
  return {
    from: { address: MAILBOX, name: 'Ann' },
    to: `rcpt${n}@example.test`,
    subject: `Hello ${n}`,
    html: `<p>Hello ${n}</p>`,
    text: `Hello ${n}`,
    messageId: `<g${n}.${crypto.randomBytes(4).toString('hex')}@acme.test>`,
    headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  };
}

describe('Gmail transport against the local Gmail API emulator', () => {
  const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const serviceAccount = { clientEmail: 'sender@acme-project.iam.gserviceaccount.test' };
  const oauthClient = { clientId: 'client-1', clientSecret: 'client-secret-1', refreshToken: 'refresh-token-1', userEmail: 'bob@acme.test' };
  let emulator: GmailEmulator;
  let transport: Transport;

  beforeAll(async () => {
    emulator = await startGmailEmulator({ serviceAccounts: [{ clientEmail: serviceAccount.clientEmail, publicKey }], oauthClients: [oauthClient] });
  });
  afterAll(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    emulator.sendScript = () => undefined;
    emulator.tokenScript = () => undefined;
    transport = createGmailTransport({ composeMessage,
      userEmail: MAILBOX,
      auth: { kind: 'service_account', clientEmail: serviceAccount.clientEmail, privateKey },
      rootUrl: emulator.rootUrl,
      tokenUrl: emulator.tokenUrl,
    });
  });

  it('sends through a service account with domain-wide delegation after a real JWT-bearer token exchange', async () => {
    const m = message(1);
    const before = emulator.tokenRequests.length;
    const result = await transport.send(m);
    expect(result).toMatchObject({ outcome: 'accepted', code: 200 });
    const sent = emulator.sent.find((s) => s.messageId === m.messageId);
    expect(sent).toMatchObject({ userEmail: MAILBOX });
    expect(result.providerMessageId).toBe(sent?.id);
    expect(sent?.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    expect(emulator.tokenRequests.slice(before)).toEqual([
      expect.objectContaining({ grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer', userEmail: MAILBOX, scope: expect.stringContaining('gmail.send') }),
    ]);
    // The token is reused for the next send.
    expect((await transport.send(message(2))).outcome).toBe('accepted');
    expect(emulator.tokenRequests.length).toBe(before + 1);
  });

  it('sends with an OAuth2 refresh token', async () => {
    const oauth = createGmailTransport({ composeMessage, userEmail: oauthClient.userEmail, auth: { kind: 'oauth2', ...oauthClient }, rootUrl: emulator.rootUrl, tokenUrl: emulator.tokenUrl });
    const m = message(3);
    expect(await oauth.send(m)).toMatchObject({ outcome: 'accepted' });
    expect(emulator.sent.find((s) => s.messageId === m.messageId)?.userEmail).toBe(oauthClient.userEmail);
    expect(emulator.tokenRequests.at(-1)).toMatchObject({ grantType: 'refresh_token', userEmail: oauthClient.userEmail });
  });

  it('classifies 429 as transient with the Retry-After hint', async () => {
    emulator.sendScript = () => ({ status: 429, reason: 'rateLimitExceeded', message: 'User-rate limit exceeded', retryAfterSeconds: 120 });
    const result = await transport.send(message(4));
    expect(result).toMatchObject({ outcome: 'transient', reason: 'rate_limited', code: 429, retryAfterSeconds: 120, stage: 'api' });
    expect(isDeliveryUncertain(result)).toBe(false);
  });

  it('classifies 500 as transient', async () => {
    emulator.sendScript = () => ({ status: 500, reason: 'backendError', message: 'Backend Error' });
    expect(await transport.send(message(5))).toMatchObject({ outcome: 'transient', reason: 'temporary_failure', code: 500, stage: 'api' });
  });

  it('classifies 400 Invalid To header as recipient_hard, an invalid address', async () => {
    emulator.sendScript = () => ({ status: 400, reason: 'invalidArgument', message: 'Invalid To header' });
    expect(await transport.send(message(6))).toMatchObject({ outcome: 'recipient_hard', reason: 'invalid_address', code: 400, stage: 'api' });
  });

  it('classifies 403 dailyLimitExceeded as sender_reputation: the mailbox is out of quota', async () => {
    emulator.sendScript = () => ({ status: 403, reason: 'dailyLimitExceeded', message: 'Daily Limit Exceeded' });
    expect(await transport.send(message(7))).toMatchObject({ outcome: 'sender_reputation', reason: 'sending_quota_exceeded', code: 403, stage: 'api' });
  });

  it('classifies 403 userRateLimitExceeded as transient', async () => {
    emulator.sendScript = () => ({ status: 403, reason: 'userRateLimitExceeded', message: 'User Rate Limit Exceeded', retryAfterSeconds: 30 });
    expect(await transport.send(message(8))).toMatchObject({ outcome: 'transient', reason: 'rate_limited', code: 403, retryAfterSeconds: 30 });
  });

  it('classifies 401 from the API as auth', async () => {
    emulator.sendScript = () => ({ status: 401, reason: 'authError', message: 'Invalid Credentials' });
    expect(await transport.send(message(9))).toMatchObject({ outcome: 'auth', reason: 'credentials_refused', code: 401, stage: 'api' });
  });

  it('classifies invalid_grant at the token exchange as auth without sending anything', async () => {
    emulator.tokenScript = () => ({ status: 400, reason: 'invalid_grant', message: 'Not a valid email or user ID.' });
    const before = emulator.apiRequests.length;
    const result = await transport.send(message(10));
    expect(result).toMatchObject({ outcome: 'auth', reason: 'credentials_refused', stage: 'auth' });
    expect(isDeliveryUncertain(result)).toBe(false);
    expect(emulator.apiRequests.length).toBe(before);
  });

  it('classifies a revoked refresh token as auth and keeps secrets out of the result', async () => {
    const revoked = createGmailTransport({ composeMessage,
      userEmail: oauthClient.userEmail,
      auth: { kind: 'oauth2', ...oauthClient, refreshToken: 'revoked-refresh-token-xyz' },
      rootUrl: emulator.rootUrl,
      tokenUrl: emulator.tokenUrl,
    });
    const result = await revoked.send(message(11));
    expect(result).toMatchObject({ outcome: 'auth', reason: 'credentials_refused', code: 400, stage: 'auth' });
    expect(result.response).toContain('invalid_grant');
    expect(JSON.stringify(result)).not.toMatch(/revoked-refresh-token-xyz|client-secret-1/);
  });

  it('refuses a service-account JWT signed with another key', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forged = createGmailTransport({ composeMessage, userEmail: MAILBOX, auth: { kind: 'service_account', clientEmail: serviceAccount.clientEmail, privateKey: other }, rootUrl: emulator.rootUrl, tokenUrl: emulator.tokenUrl });
    expect(await forged.send(message(12))).toMatchObject({ outcome: 'auth' });
  });

  it('finds a sent message by its Message-ID and not one that was never sent', async () => {
    const m = message(13);
    expect((await transport.send(m)).outcome).toBe('accepted');
    await expect(transport.findSent(m.messageId)).resolves.toBe(true);
    await expect(transport.findSent('<never-sent@acme.test>')).resolves.toBe(false);
  });

  it('marks a connection lost after the request was sent as delivery-uncertain, and findSent then settles it', async () => {
    emulator.sendScript = () => ({ status: 0 });
    const m = message(14);
    const result = await transport.send(m);
    expect(result).toMatchObject({ outcome: 'transient', reason: 'network_error', stage: 'api' });
    expect(isDeliveryUncertain(result)).toBe(true);
    await expect(transport.findSent(m.messageId)).resolves.toBe(true);
  });

  it('throws rather than answering "not sent" when the lookup fails', async () => {
    const down = createGmailTransport({ composeMessage, userEmail: MAILBOX, auth: { kind: 'service_account', clientEmail: serviceAccount.clientEmail, privateKey }, rootUrl: 'http://127.0.0.1:1/', tokenUrl: emulator.tokenUrl });
    await expect(down.findSent('<x@acme.test>')).rejects.toThrow(/Gmail lookup failed/);
  });
});
