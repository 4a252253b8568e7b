/**
 * Gmail credentials are checked for shape when stored (API and CSV), and POST
 * /api/accounts/:id/verify tries the real login: SMTP AUTH against a real smtp-server peer that
 * requires it, the OAuth and service-account token exchanges against the Gmail emulator.
 */
import crypto from 'node:crypto';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { startGmailEmulator, type GmailEmulator } from '../peers/gmail-emulator';

const t = useTestDatabase();

const SMTP_LOGIN = { user: 'relay-user', pass: 'relay-secret-pw' };
const OAUTH = { clientId: 'client-1.apps.googleusercontent.com', clientSecret: 'GOCSPX-secret', refreshToken: '1//refresh-token', userEmail: 'oauth@gmail.example.com' };
const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_KEY = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const SERVICE_ACCOUNT = { type: 'service_account', project_id: 'p', client_email: 'svc@p.iam.gserviceaccount.com', private_key: PRIVATE_KEY, private_key_id: 'k1' };

describe('Gmail credentials and account verification', () => {
  let world: World;
  let peer: SmtpPeer;
  let emulator: GmailEmulator;
  const api = () => request(world.app);
  const auth = () => bearer(world.a.adminToken);

  beforeAll(async () => {
    peer = await startSmtpPeer({ auth: SMTP_LOGIN });
    emulator = await startGmailEmulator({
      serviceAccounts: [{ clientEmail: SERVICE_ACCOUNT.client_email, publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
      oauthClients: [OAUTH],
    });
    const config = testConfig();
    config.gmail = { apiRootUrl: emulator.rootUrl, tokenUrl: emulator.tokenUrl };
    world = await createWorld(t.db, testApp(t.db, config), 'verify');
    // An account's address must be on a sender domain of its client.
    for (const domain of ['gmail.example.com', 'smtp.example.com', 'sink.example.com']) await addSenderDomain(world.app, world.a.adminToken, domain);
  });

  afterAll(async () => {
    await peer?.close();
    await emulator?.close();
  });

  const create = (body: object) => api().post('/api/accounts').set(auth()).send(body);
  const issuePaths = (res: request.Response) => (res.body.error.details.issues as Array<{ path: string }>).map((i) => i.path);

  it('refuses Gmail credentials of the wrong shape with a 400 naming the field', async () => {
    const cases: Array<[object, string]> = [
      [{ ...SERVICE_ACCOUNT, private_key: 'not a key' }, 'credentials.private_key'],
      [{ ...SERVICE_ACCOUNT, private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }, 'credentials.private_key'],
      [{ ...SERVICE_ACCOUNT, client_email: 'not an address' }, 'credentials.client_email'],
      [{ type: 'oauth2', client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, refresh_token: 'not a key' }, 'credentials.refresh_token'],
      [{ type: 'oauth2', client_id: 'my client', client_secret: OAUTH.clientSecret, refresh_token: OAUTH.refreshToken }, 'credentials.client_id'],
    ];
    for (const [credentials, path] of cases) {
      const res = await create({ email: 'bad-gmail@gmail.example.com', transport: 'gmail', credentials });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(issuePaths(res)).toContain(path);
      expect(JSON.stringify(res.body)).not.toMatch(/not a key|AAAA|MII/);
    }
    const good = await create({ email: 'good-gmail@gmail.example.com', transport: 'gmail', credentials: SERVICE_ACCOUNT });
    expect(good.status).toBe(201);
    // Replacing them is checked against the account's own transport.
    const patched = await api().patch(`/api/accounts/${good.body.id}`).set(auth()).send({ credentials: { ...SERVICE_ACCOUNT, private_key: 'not a key' } });
    expect(patched.status).toBe(400);
    expect(issuePaths(patched)).toEqual(['credentials.private_key']);
    const smtpShaped = await api().patch(`/api/accounts/${good.body.id}`).set(auth()).send({ credentials: { user: 'u', pass: 'p' } });
    expect(smtpShaped.status).toBe(400);
    expect(issuePaths(smtpShaped)).toContain('credentials.type');
  });

  it('imports Gmail accounts from the CSV columns, service account or OAuth, and reports bad keys per line', async () => {
    const cell = (value: string) => `"${value.replace(/"/g, '""')}"`;
    const csv = [
      'email,transport,gmail_service_account_key,gmail_client_id,gmail_client_secret,gmail_refresh_token',
      `sa@gmail.example.com,gmail,${cell(JSON.stringify(SERVICE_ACCOUNT))},,,`,
      `oauth-csv@gmail.example.com,gmail,,${OAUTH.clientId},${OAUTH.clientSecret},${OAUTH.refreshToken}`,
      `badkey@gmail.example.com,gmail,${cell(JSON.stringify({ ...SERVICE_ACCOUNT, private_key: 'not a key' }))},,,`,
      'notjson@gmail.example.com,gmail,not a key,,,',
      'nosecret@gmail.example.com,gmail,,client-2,,1//token',
    ].join('\n');
    const res = await api().post('/api/accounts/import').set(auth()).set('Content-Type', 'text/csv').send(csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 2, invalid: 3 });
    const byEmail = new Map((res.body.rows as Array<{ email: string; status: string; errors?: Array<{ path: string }> }>).map((r) => [r.email, r]));
    expect(byEmail.get('sa@gmail.example.com')?.status).toBe('created');
    expect(byEmail.get('oauth-csv@gmail.example.com')?.status).toBe('created');
    expect(byEmail.get('badkey@gmail.example.com')?.errors?.map((e) => e.path)).toEqual(['credentials.private_key']);
    expect(byEmail.get('notjson@gmail.example.com')?.errors?.map((e) => e.path)).toEqual(['credentials']);
    expect(byEmail.get('nosecret@gmail.example.com')?.errors?.map((e) => e.path)).toEqual(['credentials.client_secret']);
    expect(JSON.stringify(res.body)).not.toMatch(/MII|GOCSPX|not a key/);

    // The imported accounts log in with what the CSV gave them.
    for (const id of [byEmail.get('sa@gmail.example.com'), byEmail.get('oauth-csv@gmail.example.com')].map((r) => (r as unknown as { accountId: string }).accountId)) {
      const verified = await api().post(`/api/accounts/${id}/verify`).set(auth());
      expect(verified.body).toMatchObject({ ok: true, transport: 'gmail', class: null });
    }
  });

  it('verifies an SMTP login against a relay that requires AUTH: ok with the right password, the refusal with a wrong one', async () => {
    const smtpAccount = (email: string, pass: string) =>
      create({ email, transport: 'smtp', status: 'paused', transportSettings: { host: peer.host, port: peer.port, requireTLS: false }, credentials: { user: SMTP_LOGIN.user, pass } });
    const good = await smtpAccount('right@smtp.example.com', SMTP_LOGIN.pass);
    const bad = await smtpAccount('wrong@smtp.example.com', 'wrong-password-value');
    expect([good.status, bad.status]).toEqual([201, 201]);

    const ok = await api().post(`/api/accounts/${good.body.id}/verify`).set(auth());
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, transport: 'smtp', class: null, reason: null, stage: null, code: null, enhancedCode: null, response: 'connected and logged in' });

    const refused = await api().post(`/api/accounts/${bad.body.id}/verify`).set(auth());
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ ok: false, transport: 'smtp', class: 'auth', stage: 'auth', code: 535, enhancedCode: '5.7.8', response: expect.stringContaining('Authentication credentials invalid') });
    expect(JSON.stringify(refused.body)).not.toContain('wrong-password-value');
    expect(peer.received).toHaveLength(0);

    // Verifying changes nothing about the account.
    const after = await api().get(`/api/accounts/${bad.body.id}`).set(auth());
    expect(after.body).toMatchObject({ status: 'paused', pauseReason: null, lastError: null });

    const unreachable = await smtpAccount('closed@smtp.example.com', 'x');
    await api().patch(`/api/accounts/${unreachable.body.id}`).set(auth()).send({ transportSettings: { host: '127.0.0.1', port: 1, requireTLS: false } });
    const down = await api().post(`/api/accounts/${unreachable.body.id}/verify`).set(auth());
    expect(down.body).toMatchObject({ ok: false, class: 'transient', reason: 'network_error' });
  });

  it('verifies Gmail logins through the token exchange and a profile read, and says why a refused token fails', async () => {
    const oauth = await create({ email: OAUTH.userEmail, transport: 'gmail', credentials: { type: 'oauth2', client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, refresh_token: OAUTH.refreshToken } });
    const service = await create({ email: 'delegated@gmail.example.com', transport: 'gmail', credentials: SERVICE_ACCOUNT });
    const revoked = await create({ email: 'revoked@gmail.example.com', transport: 'gmail', credentials: { type: 'oauth2', client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, refresh_token: '1//revoked' } });
    expect([oauth.status, service.status, revoked.status]).toEqual([201, 201, 201]);
    const requestsBefore = emulator.apiRequests.length;

    const viaOauth = await api().post(`/api/accounts/${oauth.body.id}/verify`).set(auth());
    expect(viaOauth.body).toMatchObject({ ok: true, transport: 'gmail', code: 200, response: expect.stringContaining(OAUTH.userEmail) });
    const viaServiceAccount = await api().post(`/api/accounts/${service.body.id}/verify`).set(auth());
    expect(viaServiceAccount.body).toMatchObject({ ok: true, response: expect.stringContaining('delegated@gmail.example.com') });
    expect(emulator.apiRequests.slice(requestsBefore).map((r) => `${r.method} ${r.path} ${r.userEmail}`)).toEqual([
      `GET /gmail/v1/users/me/profile ${OAUTH.userEmail}`,
      'GET /gmail/v1/users/me/profile delegated@gmail.example.com',
    ]);

    const refused = await api().post(`/api/accounts/${revoked.body.id}/verify`).set(auth());
    expect(refused.body).toMatchObject({ ok: false, class: 'auth', code: 400, response: expect.stringContaining('expired or revoked') });
    expect(JSON.stringify(refused.body)).not.toMatch(/1\/\/revoked|GOCSPX/);
    expect(emulator.sent).toHaveLength(0);
  });

  it('answers 404 for another client’s account and lets a viewer not verify', async () => {
    const mine = await create({ email: 'mine@sink.example.com', transport: 'sink' });
    expect((await api().post(`/api/accounts/${mine.body.id}/verify`).set(bearer(world.b.adminToken))).status).toBe(404);
    expect((await api().post(`/api/accounts/${mine.body.id}/verify`).set(bearer(world.a.viewerToken))).status).toBe(403);
  });
});
