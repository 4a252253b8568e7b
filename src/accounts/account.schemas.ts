/**
 * Sender account input. Transport settings are non-secret and returned; credentials are
 * write-only: validated here, encrypted (AES-256-GCM) before storage, never returned or logged.
 *
 * Stored credential JSON by transport:
 * (the shapes src/transports/load-transport.ts reads):
 *   smtp   {"user","pass","imapUser"?,"imapPass"?}, or none (a relay that allows the host by IP: no AUTH)
 *   gmail  a Google service-account key JSON {"type":"service_account","client_email","private_key",…}
 *          (only the fields used are kept) | {"type":"oauth2","client_id","client_secret","refresh_token"}
 *   sink   none
 * Gmail credentials are checked for their shape when stored (the private key must parse as a
 * PEM private key; ids, secrets and tokens are single words of printable characters), so a
 * pasted "not a key" is a 400 naming the field rather than a worker failing later;
 * POST /api/accounts/:id/verify tries the login itself.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { isValidTimeZone } from '../sending/sending-window';
import { pageQuery } from '../http/paging';
import { emailAddress, singleLine, uuid } from '../http/validation';

export const host = z.string().max(253).regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be a host name or IP address');
export const port = z.number().int().min(1).max(65535);
/**
 * A fully qualified host name: dot-separated labels of letters, digits and inner hyphens, the
 * last one starting with a letter, so an IP address or an address literal such as
 * "[127.0.0.1]" (what receivers score as spam) is refused.
 */
const fullyQualifiedName = z
  .string()
  .max(253)
  .regex(/^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'must be a fully qualified host name such as mail.example.com');

/** Connections one SMTP account may hold open (and messages it sends in parallel). */
export const SMTP_MAX_CONNECTIONS = 10;

export const smtpSettings = z
  .object({
    host,
    port,
    secure: z.boolean().optional().describe('TLS from the first byte (implicit TLS, "SMTPS"); default true on port 465, false otherwise (then STARTTLS)'),
    requireTLS: z
      .boolean()
      .default(true)
      .describe('Without implicit TLS: send only after STARTTLS succeeds with a valid certificate; a server that does not offer STARTTLS is refused (class auth), never used in clear'),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .max(SMTP_MAX_CONNECTIONS)
      .default(1)
      .describe(`SMTP connections the account's worker holds open at once, 1 to ${SMTP_MAX_CONNECTIONS}: it sends that many messages in parallel`),
    ehloName: fullyQualifiedName
      .optional()
      .describe("Name given in EHLO; default: the domain of the account's address. A host sending straight to MX servers should give its IP address's PTR name"),
    imap: z.object({ host, port, secure: z.boolean().default(true), sentMailbox: singleLine(200).optional() }).strict().optional(),
  })
  .strict()
  .transform(({ secure, ...settings }) => ({ ...settings, secure: secure ?? settings.port === 465 }));
export const gmailSettings = z.object({}).strict();
export const sinkSettings = z.object({ host: host.optional(), port: port.optional() }).strict();

export const smtpCredentials = z
  .object({ user: z.string().min(1).max(320), pass: z.string().min(1).max(1000), imapUser: z.string().min(1).max(320).optional(), imapPass: z.string().min(1).max(1000).optional() })
  .strict();
/** What Google issues as client ids, client secrets and refresh tokens: one word of printable ASCII. */
const googleIssued = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[\x21-\x7e]+$/, 'must be the value Google issued: printable characters, no spaces');

function isPemPrivateKey(value: string): boolean {
  if (!value.includes('-----BEGIN')) return false;
  try {
    crypto.createPrivateKey({ key: value, format: 'pem' });
    return true;
  } catch {
    return false;
  }
}

const pemPrivateKey = z
  .string()
  .min(1)
  .max(10_000)
  .refine(isPemPrivateKey, { message: 'not a PEM private key ("-----BEGIN PRIVATE KEY-----…", as in the key file Google issues)' });

export const gmailCredentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('oauth2'), client_id: googleIssued(500), client_secret: googleIssued(500), refresh_token: googleIssued(2000) }).strict(),
  // A service-account key file as Google issues it; fields the transport does not use are dropped.
  z
    .object({ type: z.literal('service_account'), client_email: emailAddress, private_key: pemPrivateKey, private_key_id: z.string().max(200).optional() })
    .transform(({ type, client_email, private_key, private_key_id }) => ({ type, client_email, private_key, ...(private_key_id ? { private_key_id } : {}) })),
]);

/** The credentials schema of a transport (undefined: it takes none). */
export function credentialsFor(transport: 'smtp' | 'gmail' | 'sink'): z.ZodType | undefined {
  return transport === 'smtp' ? smtpCredentials : transport === 'gmail' ? gmailCredentials : undefined;
}

/** A calendar date as YYYY-MM-DD (so 2026-02-30 is refused). */
export const calendarDate = z.string().superRefine((value, ctx) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected a date as YYYY-MM-DD' });
    return;
  }
  const t = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== value) ctx.addIssue({ code: 'custom', message: 'not a calendar date' });
});

const limits = {
  displayName: singleLine(200),
  domainId: uuid.nullable(),
  dailyLimit: z.number().int().min(0).max(100_000),
  hourlyLimit: z.number().int().min(0).max(100_000),
  minGapSeconds: z.number().int().min(0).max(86_400),
  warmupEnabled: z.boolean(),
  warmupCurve: z.string().regex(/^\d+(,\d+)*$/, 'comma-separated daily limits such as "20,40,80"').max(500).nullable(),
  timeZone: z.string().max(64).refine(isValidTimeZone, { message: 'not a known IANA time zone' }),
  // For a mailbox that is already warm; otherwise the warm-up starts when the account is first
  // activated. Either may be given (both must then name the same day); neither may be in the
  // future of the account's zone, which account-warmup.ts checks.
  warmupStartedOn: calendarDate.describe("Local date (account's zone) of warm-up day 0; today or earlier"),
  warmupDay: z.number().int().min(0).max(10_000).describe('Warm-up day the account is on today: sets warmupStartedOn to today minus this many days'),
};

const accountStatus = z.enum(['active', 'paused', 'disabled']);

const common = z
  .object(limits)
  .partial()
  .extend({ email: emailAddress, clientId: uuid.optional(), status: accountStatus.optional().describe('Default active: the warm-up starts now') });

const noCredentialsForImap = (value: { transportSettings?: { imap?: unknown }; credentials?: unknown }, ctx: z.RefinementCtx) => {
  if (value.transportSettings?.imap && !value.credentials) ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'the IMAP Sent-mail lookup needs credentials' });
};

export const createAccountBody = z.discriminatedUnion('transport', [
  common
    .extend({
      transport: z.literal('smtp'),
      transportSettings: smtpSettings,
      credentials: smtpCredentials.optional().describe('Omit for a relay that accepts this host without AUTH (allowed by IP address); then no AUTH is sent'),
    })
    .strict()
    .superRefine(noCredentialsForImap),
  common.extend({ transport: z.literal('gmail'), transportSettings: gmailSettings.default({}), credentials: gmailCredentials }).strict(),
  common.extend({ transport: z.literal('sink'), transportSettings: sinkSettings.default({}) }).strict(),
]);

export const updateAccountBody = z
  .object({
    ...limits,
    status: accountStatus,
    transportSettings: z.union([smtpSettings, sinkSettings]),
    // Checked against the account's own transport by the route (credentialsFor), so an error
    // names the field of that shape rather than "matches no alternative". null removes an SMTP
    // account's credentials: it then sends without AUTH.
    credentials: z.record(z.string(), z.unknown()).nullable().describe("The account transport's credentials, as in POST /api/accounts; null removes an SMTP account's credentials (it then sends without AUTH)"),
  })
  .partial()
  .strict();

export const accountListQuery = pageQuery.extend({
  status: z.enum(['active', 'paused', 'suspended', 'disabled', 'crashed']).optional(),
  transport: z.enum(['smtp', 'gmail', 'sink']).optional().describe('The provider: smtp, gmail or sink'),
  domain: host.optional().describe('Accounts whose address is on this domain'),
  search: z.string().max(254).optional().describe('Part of the address, any case'),
});

export const accountOut = z.object({
  id: z.uuid(),
  clientId: z.uuid(),
  domainId: z.uuid().nullable(),
  email: z.string(),
  displayName: z.string(),
  transport: z.enum(['smtp', 'gmail', 'sink']),
  transportSettings: z
    .record(z.string(), z.unknown())
    .describe('As stored: smtp {host, port, secure, requireTLS, maxConnections, ehloName?, imap?} (no ehloName: the domain of the address); sink {host?, port?}; gmail {}'),
  hasCredentials: z.boolean(),
  status: z.string(),
  pauseReason: z.string().nullable(),
  dailyLimit: z.number(),
  hourlyLimit: z.number(),
  minGapSeconds: z.number(),
  warmupEnabled: z.boolean(),
  warmupCurve: z.string().nullable(),
  healthScore: z.number(),
  timeZone: z.string(),
  createdAt: z.string(),
  // What the mailbox is doing (account-activity.ts).
  warmupStartedOn: z.string().nullable().describe('Local date of warm-up day 0; null until the account is first activated'),
  warmupDay: z.number().int().nullable().describe("Today's warm-up day in the account's zone; null when not started"),
  effectiveDailyLimit: z.number().int().describe('What it may send today: min(dailyLimit, warm-up curve with its deferral slowdown, health factor)'),
  sentToday: z.number().int().describe("Sends counted against today's limit (its local day)"),
  nextSendAt: z.string().nullable().describe('When it next sends or may send, when known'),
  waitReason: z.string().nullable().describe('Why it is not sending now: min_gap, nothing_due, outside_window, limit:account/day, limit:recipient_domain/day, limit:campaign/day, provider_breaker_open, recipient_domain_breaker_open, rows_locked, paused:<reason>, …'),
  worker: z
    .object({
      state: z.string().describe('starting | sending | waiting | stopping | stopped | inactive | failed, as last reported'),
      stale: z.boolean().describe('The last heartbeat is older than orchestrator.heartbeatStaleMs: the worker is not known to be running'),
      lastHeartbeatAt: z.string(),
      sent: z.number().nullable().describe('Sent by this worker process'),
      nodeId: z.string().nullable().describe('The server node whose orchestrator runs it; null when not reported'),
    })
    .nullable()
    .describe('Its send worker as last reported; null when none has reported'),
  lastError: z
    .object({
      at: z.string(),
      outcome: z.string().describe('Class: transient, recipient_hard, recipient_soft, sender_reputation, sender_auth, auth, unknown'),
      reason: z.string().nullable(),
      code: z.number().nullable(),
      enhancedCode: z.string().nullable(),
      response: z.string().nullable(),
    })
    .nullable()
    .describe('Its latest attempt that was not accepted'),
  lastInboundReadAt: z.string().nullable().describe('When its inbox (IMAP settings, or the Gmail API) was last read without error; null when never'),
  lastInboundError: z
    .object({
      at: z.string(),
      message: z.string().describe('What failed, e.g. "IMAP login refused by imap.example.com:993"; never a credential'),
      consecutiveFailures: z.number().int().describe('Reads failed in a row; an alert (inbound_read_failed) is raised at inbound.alertAfterFailures'),
    })
    .nullable()
    .describe('Why its inbox could not be read at the last attempt; null once a read succeeds'),
});
