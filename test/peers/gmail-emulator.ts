/**
 * A local emulator of the parts of the Gmail API and Google's OAuth token endpoint the Gmail
 * transport uses, on 127.0.0.1, for driving the real `@googleapis/gmail` client:
 *   POST /token                                     refresh_token grant, and the JWT-bearer
 *                                                   grant with the service-account JWT
 *                                                   verified against the test's public key
 *   POST /gmail/v1/users/{userId}/messages/send     records the raw message
 *   GET  /gmail/v1/users/{userId}/messages?q=rfc822msgid:…
 *   GET  /gmail/v1/users/{userId}/profile          the mailbox's address (account verify)
 * Scriptable: `sendScript` / `tokenScript` may answer any status (429 with Retry-After, 400,
 * 401, 403 dailyLimitExceeded, 500…); undefined means behave like Gmail on success.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import express from 'express';
import jwt from 'jsonwebtoken';

export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';

export interface ScriptedAnswer {
  /** HTTP status; 0 at send means "accept the message, then drop the connection unanswered". */
  status: number;
  /** Google error reason (dailyLimitExceeded…) or, at the token endpoint, the OAuth error (invalid_grant). */
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
}

export interface EmulatedServiceAccount {
  clientEmail: string;
  /** PEM public key of the key pair whose private half the transport signs with. */
  publicKey: string;
}

export interface EmulatedOAuthClient {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  userEmail: string;
}

export interface SentRecord {
  id: string;
  threadId: string;
  userEmail: string;
  raw: string;
  messageId: string | undefined;
}

export interface TokenRequestRecord {
  grantType: string;
  userEmail?: string;
  scope?: string;
}

export interface GmailEmulator {
  rootUrl: string;
  tokenUrl: string;
  sent: SentRecord[];
  tokenRequests: TokenRequestRecord[];
  /** Every API request's path, method and user, in order. */
  apiRequests: Array<{ method: string; path: string; userEmail: string }>;
  sendScript: (context: { userEmail: string; raw: string }) => ScriptedAnswer | undefined;
  tokenScript: (context: TokenRequestRecord) => ScriptedAnswer | undefined;
  close(): Promise<void>;
}

function apiError(res: express.Response, answer: ScriptedAnswer) {
  if (answer.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(answer.retryAfterSeconds));
  const statusText: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
  const message = answer.message ?? 'Scripted error';
  res.status(answer.status).json({
    error: { code: answer.status, message, errors: [{ domain: 'global', reason: answer.reason ?? 'scripted', message }], status: statusText[answer.status] ?? 'UNKNOWN' },
  });
}

export async function startGmailEmulator(options: { serviceAccounts?: EmulatedServiceAccount[]; oauthClients?: EmulatedOAuthClient[] } = {}): Promise<GmailEmulator> {
  const accessTokens = new Map<string, string>(); // token → user email
  const emulator = {
    sent: [] as SentRecord[],
    tokenRequests: [] as TokenRequestRecord[],
    apiRequests: [] as GmailEmulator['apiRequests'],
    sendScript: () => undefined,
    tokenScript: () => undefined,
  } as unknown as GmailEmulator;

  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json({ limit: '50mb' }));

  const issue = (res: express.Response, userEmail: string) => {
    const token = `ya29.${crypto.randomBytes(16).toString('hex')}`;
    accessTokens.set(token, userEmail);
    res.json({ access_token: token, expires_in: 3599, token_type: 'Bearer' });
  };
  const oauthError = (res: express.Response, status: number, error: string, description: string) => res.status(status).json({ error, error_description: description });

  app.post('/token', (req, res) => {
    const body = req.body as Record<string, string>;
    const record: TokenRequestRecord = { grantType: body.grant_type ?? '' };
    let userEmail: string | undefined;

    if (body.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const decoded = jwt.decode(body.assertion ?? '', { json: true });
      const account = options.serviceAccounts?.find((a) => a.clientEmail === decoded?.iss);
      if (!account) return oauthError(res, 401, 'invalid_client', 'The OAuth client was not found.');
      try {
        const claims = jwt.verify(body.assertion ?? '', account.publicKey, { algorithms: ['RS256'], audience: [GOOGLE_TOKEN_AUDIENCE, emulator.tokenUrl] }) as jwt.JwtPayload;
        userEmail = typeof claims.sub === 'string' ? claims.sub : undefined;
        record.scope = typeof claims.scope === 'string' ? claims.scope : undefined;
      } catch {
        return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
      }
      if (!userEmail) return oauthError(res, 400, 'invalid_grant', 'Domain-wide delegation needs a subject.');
    } else if (body.grant_type === 'refresh_token') {
      const client = options.oauthClients?.find((c) => c.clientId === body.client_id);
      if (!client || client.clientSecret !== body.client_secret) return oauthError(res, 401, 'invalid_client', 'Unauthorized');
      if (client.refreshToken !== body.refresh_token) return oauthError(res, 400, 'invalid_grant', 'Token has been expired or revoked.');
      userEmail = client.userEmail;
    } else {
      return oauthError(res, 400, 'unsupported_grant_type', 'Invalid grant_type');
    }
    record.userEmail = userEmail;
    emulator.tokenRequests.push(record);
    const scripted = emulator.tokenScript(record);
    if (scripted) return oauthError(res, scripted.status, scripted.reason ?? 'server_error', scripted.message ?? 'Scripted token error');
    issue(res, userEmail);
  });

  const authenticate = (req: express.Request, res: express.Response): string | undefined => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const userEmail = match ? accessTokens.get(match[1] ?? '') : undefined;
    if (!userEmail) {
      apiError(res, { status: 401, reason: 'authError', message: 'Request had invalid authentication credentials.' });
      return undefined;
    }
    const userId = String(req.params.userId);
    if (userId !== 'me' && userId.toLowerCase() !== userEmail.toLowerCase()) {
      apiError(res, { status: 403, reason: 'forbidden', message: 'Delegation denied' });
      return undefined;
    }
    emulator.apiRequests.push({ method: req.method, path: req.path, userEmail });
    return userEmail;
  };

  app.post('/gmail/v1/users/:userId/messages/send', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const rawBase64 = (req.body as { raw?: string }).raw;
    if (!rawBase64) return apiError(res, { status: 400, reason: 'invalidArgument', message: "'raw' RFC822 payload message string or uploading message via /upload/* URL required" });
    const raw = Buffer.from(rawBase64, 'base64url').toString('utf8');
    const scripted = emulator.sendScript({ userEmail, raw });
    if (scripted && scripted.status !== 0) return apiError(res, scripted);
    const messageId = /^Message-ID:\s*(\S+)\s*$/im.exec(raw)?.[1];
    const id = crypto.randomBytes(8).toString('hex');
    emulator.sent.push({ id, threadId: id, userEmail, raw, messageId });
    // status 0: the message is taken, then the connection drops before the answer.
    if (scripted) return void req.socket.destroy();
    res.json({ id, threadId: id, labelIds: ['SENT'] });
  });

  app.get('/gmail/v1/users/:userId/messages', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const q = String(req.query.q ?? '');
    const match = /^rfc822msgid:(\S+)$/.exec(q.trim());
    const wanted = match?.[1]?.replace(/^<|>$/g, '');
    const found = wanted ? emulator.sent.filter((m) => m.userEmail === userEmail && m.messageId?.replace(/^<|>$/g, '') === wanted) : [];
    res.json(found.length ? { messages: found.map((m) => ({ id: m.id, threadId: m.threadId })), resultSizeEstimate: found.length } : { resultSizeEstimate: 0 });
  });

  app.get('/gmail/v1/users/:userId/profile', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const count = emulator.sent.filter((m) => m.userEmail === userEmail).length;
    res.json({ emailAddress: userEmail, messagesTotal: count, threadsTotal: count, historyId: '1' });
  });

  const server: http.Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  emulator.rootUrl = `http://127.0.0.1:${port}/`;
  emulator.tokenUrl = `http://127.0.0.1:${port}/token`;
  emulator.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return emulator;
}
