/**
 * A local emulator of the parts of the Gmail API and Google's OAuth token endpoint the Gmail
 * transport uses, on 127.0.0.1, for driving the real `@googleapis/gmail` client:
 *   POST /token                                     refresh_token grant, and the JWT-bearer
 *                                                   grant with the service-account JWT
 *                                                   verified against the test's public key
 *   POST /gmail/v1/users/{userId}/messages/send     records the raw message
 *   GET  /gmail/v1/users/{userId}/messages?q=rfc822msgid:…
 * and, for the inbox reader, a mailbox per user whose history id advances with every message
 * added (sent or delivered):
 *   GET  /gmail/v1/users/{userId}/profile                      the address (account verify), historyId
 *   GET  /gmail/v1/users/{userId}/history?startHistoryId&labelId&historyTypes=messageAdded
 *                                                              404 once expireHistory() passed it
 *   GET  /gmail/v1/users/{userId}/messages?q=in:inbox after:<epoch s>   newest first, paged
 *   GET  /gmail/v1/users/{userId}/messages/{id}?format=raw
 *   POST /gmail/v1/users/{userId}/messages/batchModify
 *   GET/POST /gmail/v1/users/{userId}/labels
 * Tests put mail into a user's INBOX with deliverToInbox() and expire its history with
 * expireHistory().
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

/** A message in an emulated mailbox (what users.messages.get returns). */
export interface MailboxMessage {
  id: string;
  threadId: string;
  userEmail: string;
  raw: string;
  labelIds: string[];
  internalDate: number;
  historyId: number;
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
  /** Every message of every mailbox, sent ones (label SENT) and delivered ones (INBOX). */
  mailbox: MailboxMessage[];
  /** Puts a message into the user's INBOX (UNREAD), advancing its history; returns its id. */
  deliverToInbox(userEmail: string, raw: string, options?: { internalDate?: Date; labelIds?: string[] }): string;
  /** History before now is gone: history.list from an older id answers 404, as Gmail's does after about a week. */
  expireHistory(userEmail: string): void;
  /** The user's labels by name (created by the API or present: INBOX, UNREAD, SENT). */
  labels(userEmail: string): Map<string, string>;
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
  // History ids are per mailbox in Gmail; one counter for all is as good for a client.
  let historyCounter = 1000;
  const oldestHistory = new Map<string, number>(); // user → the oldest history id still kept
  const userLabels = new Map<string, Map<string, string>>(); // user → name → id
  const labelsOf = (userEmail: string) => {
    const key = userEmail.toLowerCase();
    if (!userLabels.has(key)) userLabels.set(key, new Map([['INBOX', 'INBOX'], ['UNREAD', 'UNREAD'], ['SENT', 'SENT']]));
    return userLabels.get(key) as Map<string, string>;
  };
  const addToMailbox = (userEmail: string, raw: string, labelIds: string[], internalDate: number, id = crypto.randomBytes(8).toString('hex')): MailboxMessage => {
    const message = { id, threadId: id, userEmail: userEmail.toLowerCase(), raw, labelIds, internalDate, historyId: ++historyCounter };
    emulator.mailbox.push(message);
    return message;
  };
  const emulator = {
    mailbox: [] as MailboxMessage[],
    deliverToInbox: (userEmail: string, raw: string, options: { internalDate?: Date; labelIds?: string[] } = {}) =>
      addToMailbox(userEmail, raw, options.labelIds ?? ['INBOX', 'UNREAD'], (options.internalDate ?? new Date()).getTime()).id,
    expireHistory: (userEmail: string) => void oldestHistory.set(userEmail.toLowerCase(), historyCounter + 1),
    labels: (userEmail: string) => labelsOf(userEmail),
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
    addToMailbox(userEmail, raw, ['SENT'], Date.now(), id);
    // status 0: the message is taken, then the connection drops before the answer.
    if (scripted) return void req.socket.destroy();
    res.json({ id, threadId: id, labelIds: ['SENT'] });
  });

  app.get('/gmail/v1/users/:userId/messages', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const q = String(req.query.q ?? '');
    const match = /^rfc822msgid:(\S+)$/.exec(q.trim());
    if (match) {
      const wanted = match[1]?.replace(/^<|>$/g, '');
      const found = wanted ? emulator.sent.filter((m) => m.userEmail === userEmail && m.messageId?.replace(/^<|>$/g, '') === wanted) : [];
      return res.json(found.length ? { messages: found.map((m) => ({ id: m.id, threadId: m.threadId })), resultSizeEstimate: found.length } : { resultSizeEstimate: 0 });
    }
    // The inbox reader's resync: "in:inbox after:<epoch seconds>", newest first, paged.
    const inInbox = /\bin:inbox\b/.test(q);
    const after = /\bafter:(\d+)\b/.exec(q)?.[1];
    const found = emulator.mailbox
      .filter((m) => m.userEmail === userEmail.toLowerCase() && (!inInbox || m.labelIds.includes('INBOX')) && (after === undefined || m.internalDate >= Number(after) * 1000))
      .sort((a, b) => b.internalDate - a.internalDate || b.historyId - a.historyId);
    const offset = Number(req.query.pageToken ?? 0);
    const size = Number(req.query.maxResults ?? 100);
    const page = found.slice(offset, offset + size);
    res.json({
      ...(page.length ? { messages: page.map((m) => ({ id: m.id, threadId: m.threadId })) } : {}),
      ...(offset + size < found.length ? { nextPageToken: String(offset + size) } : {}),
      resultSizeEstimate: found.length,
    });
  });

  app.get('/gmail/v1/users/:userId/profile', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const mine = emulator.mailbox.filter((m) => m.userEmail === userEmail.toLowerCase());
    res.json({ emailAddress: userEmail, messagesTotal: mine.length, threadsTotal: mine.length, historyId: String(historyCounter) });
  });

  app.get('/gmail/v1/users/:userId/history', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const start = Number(req.query.startHistoryId);
    if (!Number.isFinite(start) || start <= 0) return apiError(res, { status: 400, reason: 'invalidArgument', message: 'Invalid startHistoryId' });
    if (start < (oldestHistory.get(userEmail.toLowerCase()) ?? 0)) return apiError(res, { status: 404, reason: 'notFound', message: 'Requested entity was not found.' });
    const labelId = req.query.labelId === undefined ? undefined : String(req.query.labelId);
    const records = emulator.mailbox
      .filter((m) => m.userEmail === userEmail.toLowerCase() && m.historyId > start && (labelId === undefined || m.labelIds.includes(labelId)))
      .sort((a, b) => a.historyId - b.historyId)
      .map((m) => ({ id: String(m.historyId), messages: [{ id: m.id, threadId: m.threadId }], messagesAdded: [{ message: { id: m.id, threadId: m.threadId, labelIds: m.labelIds } }] }));
    const offset = Number(req.query.pageToken ?? 0);
    const size = Number(req.query.maxResults ?? 100);
    const page = records.slice(offset, offset + size);
    res.json({ ...(page.length ? { history: page } : {}), ...(offset + size < records.length ? { nextPageToken: String(offset + size) } : {}), historyId: String(historyCounter) });
  });

  app.get('/gmail/v1/users/:userId/messages/:id', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const message = emulator.mailbox.find((m) => m.userEmail === userEmail.toLowerCase() && m.id === req.params.id);
    if (!message) return apiError(res, { status: 404, reason: 'notFound', message: 'Requested entity was not found.' });
    const base = { id: message.id, threadId: message.threadId, labelIds: message.labelIds, historyId: String(message.historyId), internalDate: String(message.internalDate), sizeEstimate: Buffer.byteLength(message.raw) };
    res.json(req.query.format === 'raw' ? { ...base, raw: Buffer.from(message.raw).toString('base64url') } : base);
  });

  app.post('/gmail/v1/users/:userId/messages/batchModify', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const body = req.body as { ids?: string[]; addLabelIds?: string[]; removeLabelIds?: string[] };
    for (const message of emulator.mailbox) {
      if (message.userEmail !== userEmail.toLowerCase() || !body.ids?.includes(message.id)) continue;
      message.labelIds = [...new Set([...message.labelIds, ...(body.addLabelIds ?? [])])].filter((label) => !(body.removeLabelIds ?? []).includes(label));
    }
    res.status(204).end();
  });

  app.get('/gmail/v1/users/:userId/labels', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    res.json({ labels: [...labelsOf(userEmail)].map(([name, id]) => ({ id, name, type: id === name ? 'system' : 'user' })) });
  });

  app.post('/gmail/v1/users/:userId/labels', (req, res) => {
    const userEmail = authenticate(req, res);
    if (!userEmail) return;
    const name = String((req.body as { name?: string }).name ?? '');
    const labels = labelsOf(userEmail);
    if (!name || labels.has(name)) return apiError(res, { status: 409, reason: 'duplicate', message: 'Label name exists or conflicts' });
    const id = `Label_${labels.size}`;
    labels.set(name, id);
    res.json({ id, name, type: 'user' });
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
