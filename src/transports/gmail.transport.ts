/**
 * Gmail API transport (Google Workspace mailboxes) through the per-API `@googleapis/gmail`
 * package, never the whole `googleapis` (≈100 MB per process). Auth is either a service
 * account with domain-wide delegation (JWT with `subject` = the mailbox) or an OAuth2
 * refresh token. The API root and the token endpoint are configurable so tests drive the real
 * client against a local emulator.
 *
 * The message is composed by the caller's `composeMessage` (mime.ts: nodemailer's
 * MailComposer, the same bytes as the SMTP transport) and sent raw with users.messages.send;
 * findSent searches `rfc822msgid:`. Passed in rather than imported: this file is a bundle of its
 * own in workers (scripts/bundle-worker.ts) and would otherwise carry a second nodemailer.
 *
 * The access token is fetched explicitly before each send, so a token failure (invalid_grant,
 * token endpoint down) is told apart from a send failure and is never "delivery uncertain".
 */
import { auth as googleAuth, gmail, type gmail_v1 } from '@googleapis/gmail';
import { classifyGmailError, cleanResponse, parseRetryAfter, type ClassifiedSendResult, type GmailErrorLike } from './classify';
import type { OutgoingMessage, Transport } from './transport';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GMAIL_ROOT_URL = 'https://gmail.googleapis.com/';
/** send for sending, readonly for the rfc822msgid: search used to reconcile. */
export const GMAIL_SCOPES = ['https://www.googleapis.com/auth/gmail.send', 'https://www.googleapis.com/auth/gmail.readonly'];

export type GmailAuthSettings =
  | { kind: 'service_account'; clientEmail: string; privateKey: string; privateKeyId?: string }
  | { kind: 'oauth2'; clientId: string; clientSecret: string; refreshToken: string };

export interface GmailTransportOptions {
  /** The mailbox; also the delegation subject for a service account. */
  userEmail: string;
  auth: GmailAuthSettings;
  rootUrl?: string;
  tokenUrl?: string;
  timeoutMs?: number;
  /** RFC 822 bytes of a message: mime.ts's composeMessage. */
  composeMessage: (message: OutgoingMessage) => Promise<Buffer>;
}

export type AuthClient = InstanceType<typeof googleAuth.JWT> | InstanceType<typeof googleAuth.OAuth2>;

// Node's own fetch: gaxios would otherwise import node-fetch (more memory per worker, and a
// dynamic import that jest's VM cannot run).
const transporterOptions = { fetchImplementation: fetch };

/** The client a mailbox's API calls authenticate with; the inbox reader (src/inbound/readers) asks for its own scopes. */
export function createAuthClient(options: Pick<GmailTransportOptions, 'userEmail' | 'auth' | 'tokenUrl'>, scopes: string[] = GMAIL_SCOPES): AuthClient {
  const tokenUrl = options.tokenUrl ?? GOOGLE_TOKEN_URL;
  if (options.auth.kind === 'oauth2') {
    const client = new googleAuth.OAuth2({ clientId: options.auth.clientId, clientSecret: options.auth.clientSecret, endpoints: { oauth2TokenUrl: tokenUrl }, transporterOptions });
    client.setCredentials({ refresh_token: options.auth.refreshToken });
    return client;
  }
  const client = new googleAuth.JWT({
    email: options.auth.clientEmail,
    key: options.auth.privateKey,
    ...(options.auth.privateKeyId ? { keyId: options.auth.privateKeyId } : {}),
    scopes,
    subject: options.userEmail,
    transporterOptions,
  });
  if (tokenUrl !== GOOGLE_TOKEN_URL) {
    // The JWT-bearer exchange has Google's token URL built in; point it at the configured one.
    client.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(tokenUrl);
        return config;
      },
    });
  }
  return client;
}

interface GaxiosLikeError {
  message?: string;
  status?: number;
  code?: string | number;
  cause?: { code?: string };
  response?: { status?: number; data?: unknown; headers?: Headers | Record<string, string> };
}

function headerValue(headers: Headers | Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string>;
  return record[name] ?? record[name.toLowerCase()];
}

/** Reduces a gaxios error to what classification reads; never copies request data (tokens). */
export function describeGmailError(error: unknown, duringTokenExchange: boolean): GmailErrorLike {
  const e = (error ?? {}) as GaxiosLikeError;
  const status = e.response?.status ?? (typeof e.status === 'number' ? e.status : undefined);
  const data = e.response?.data as { error?: unknown; error_description?: string } | undefined;
  let reason: string | undefined;
  let message: string | undefined;
  if (data && typeof data.error === 'string') {
    // OAuth token endpoint: {"error": "invalid_grant", "error_description": "…"}
    reason = data.error;
    message = data.error_description ?? data.error;
  } else if (data && typeof data.error === 'object' && data.error) {
    const apiError = data.error as { message?: string; status?: string; errors?: Array<{ reason?: string }> };
    reason = apiError.errors?.[0]?.reason ?? apiError.status;
    message = apiError.message;
  }
  const networkCode = typeof e.code === 'string' ? e.code : e.cause?.code;
  const retryAfterSeconds = parseRetryAfter(headerValue(e.response?.headers, 'retry-after'));
  return {
    ...(status !== undefined ? { status } : {}),
    ...(reason ? { reason } : {}),
    message: cleanResponse(message ?? e.message ?? 'Gmail API error'),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...(status === undefined && networkCode ? { networkCode } : {}),
    duringTokenExchange,
  };
}

export function createGmailTransport(options: GmailTransportOptions): Transport {
  const authClient = createAuthClient(options);
  const api: gmail_v1.Gmail = gmail({ version: 'v1', auth: authClient, rootUrl: options.rootUrl ?? GMAIL_ROOT_URL, timeout: options.timeoutMs ?? 60_000 });
  // Our own retry policy (worker backoff) decides; a silent client retry could double a send.
  const callOptions = { retry: false };

  const ensureToken = async (): Promise<ClassifiedSendResult | undefined> => {
    try {
      await authClient.getAccessToken();
      return undefined;
    } catch (error) {
      return classifyGmailError(describeGmailError(error, true));
    }
  };

  return {
    kind: 'gmail',
    // One request at a time: Gmail's limits are per user, and a worker is one user.
    maxInFlight: 1,
    async send(message: OutgoingMessage) {
      const raw = await options.composeMessage(message);
      const tokenFailure = await ensureToken();
      if (tokenFailure) return tokenFailure;
      try {
        const response = await api.users.messages.send({ userId: 'me', requestBody: { raw: raw.toString('base64url') } }, callOptions);
        return { outcome: 'accepted', code: response.status, response: 'sent', ...(response.data.id ? { providerMessageId: response.data.id } : {}) };
      } catch (error) {
        return classifyGmailError(describeGmailError(error, false));
      }
    },
    async findSent(messageId: string) {
      const tokenFailure = await ensureToken();
      if (tokenFailure) throw new Error(`Gmail lookup failed: ${tokenFailure.response}`);
      const id = messageId.trim().replace(/^<|>$/g, '');
      try {
        const response = await api.users.messages.list({ userId: 'me', q: `rfc822msgid:${id}`, includeSpamTrash: true, maxResults: 1 }, callOptions);
        return (response.data.messages?.length ?? 0) > 0;
      } catch (error) {
        // "Cannot check now" must not read as "not sent": the reconciler retries later.
        const described = describeGmailError(error, false);
        // No `cause`: the gaxios error carries the request config, Bearer token included.
        // eslint-disable-next-line preserve-caught-error
        throw new Error(`Gmail lookup failed: ${described.status ?? described.networkCode ?? ''} ${described.message ?? ''}`.trim());
      }
    },
    async verify() {
      const tokenFailure = await ensureToken();
      if (tokenFailure) return tokenFailure;
      try {
        const profile = await api.users.getProfile({ userId: 'me' }, callOptions);
        return { outcome: 'accepted', code: profile.status, response: `token exchanged; mailbox ${profile.data.emailAddress ?? options.userEmail} readable` };
      } catch (error) {
        return classifyGmailError(describeGmailError(error, false));
      }
    },
    async close() {
      // Stateless HTTP client: nothing to release.
    },
  };
}
