/**
 * Sender account input. Transport settings are non-secret and returned; credentials are
 * write-only: validated here, encrypted (AES-256-GCM) before storage, never returned or logged.
 *
 * Stored credential JSON by transport:
 * (the shapes src/transports/load-transport.ts reads):
 *   smtp   {"user","pass","imapUser"?,"imapPass"?}
 *   gmail  a Google service-account key JSON {"type":"service_account","client_email","private_key",…}
 *          (only the fields used are kept) | {"type":"oauth2","client_id","client_secret","refresh_token"}
 *   sink   none
 */
import { z } from 'zod';
import { isValidTimeZone } from '../sending/sending-window';
import { emailAddress, singleLine, uuid } from '../http/validation';

const host = z.string().max(253).regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be a host name or IP address');
const port = z.number().int().min(1).max(65535);

export const smtpSettings = z
  .object({
    host,
    port,
    secure: z.boolean().default(false),
    requireTLS: z.boolean().default(true),
    imap: z.object({ host, port, secure: z.boolean().default(true), sentMailbox: singleLine(200).optional() }).strict().optional(),
  })
  .strict();
export const gmailSettings = z.object({}).strict();
export const sinkSettings = z.object({ host: host.optional(), port: port.optional() }).strict();

export const smtpCredentials = z
  .object({ user: z.string().min(1).max(320), pass: z.string().min(1).max(1000), imapUser: z.string().min(1).max(320).optional(), imapPass: z.string().min(1).max(1000).optional() })
  .strict();
export const gmailCredentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('oauth2'), client_id: z.string().min(1).max(500), client_secret: z.string().min(1).max(500), refresh_token: z.string().min(1).max(2000) }).strict(),
  // A service-account key file as Google issues it; fields the transport does not use are dropped.
  z
    .object({ type: z.literal('service_account'), client_email: emailAddress, private_key: z.string().min(1).max(10_000), private_key_id: z.string().max(200).optional() })
    .transform(({ type, client_email, private_key, private_key_id }) => ({ type, client_email, private_key, ...(private_key_id ? { private_key_id } : {}) })),
]);

const limits = {
  displayName: singleLine(200),
  domainId: uuid.nullable(),
  dailyLimit: z.number().int().min(0).max(100_000),
  hourlyLimit: z.number().int().min(0).max(100_000),
  minGapSeconds: z.number().int().min(0).max(86_400),
  warmupEnabled: z.boolean(),
  warmupCurve: z.string().regex(/^\d+(,\d+)*$/, 'comma-separated daily limits such as "20,40,80"').max(500).nullable(),
  timeZone: z.string().max(64).refine(isValidTimeZone, { message: 'not a known IANA time zone' }),
};

const common = z.object(limits).partial().extend({ email: emailAddress, clientId: uuid.optional() });

export const createAccountBody = z.discriminatedUnion('transport', [
  common.extend({ transport: z.literal('smtp'), transportSettings: smtpSettings, credentials: smtpCredentials }).strict(),
  common.extend({ transport: z.literal('gmail'), transportSettings: gmailSettings.default({}), credentials: gmailCredentials }).strict(),
  common.extend({ transport: z.literal('sink'), transportSettings: sinkSettings.default({}) }).strict(),
]);

export const updateAccountBody = z
  .object({
    ...limits,
    status: z.enum(['active', 'paused', 'disabled']),
    transportSettings: z.union([smtpSettings, sinkSettings]),
    credentials: z.union([smtpCredentials, gmailCredentials]),
  })
  .partial()
  .strict();

export const accountOut = z.object({
  id: z.uuid(),
  clientId: z.uuid(),
  domainId: z.uuid().nullable(),
  email: z.string(),
  displayName: z.string(),
  transport: z.enum(['smtp', 'gmail', 'sink']),
  transportSettings: z.record(z.string(), z.unknown()),
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
});
