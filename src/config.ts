/**
 * The one place that reads process.env. Tunables come from config/default.json (optionally
 * overlaid by the JSON file named in CONFIG_FILE); deployment settings and secrets come from
 * the environment. Everything is validated once at start, and a bad value stops the process
 * with a message that names the key.
 */
import fs from 'node:fs';
import path from 'node:path';
// zod/mini, not zod: this module is loaded by every one of up to 1,200 send workers, and the
// tree-shaken mini API costs them a few KB where the full one costs ~7 MB each.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.cjs';
import { parseErasureKey } from './erasure/address-hash';
import { DataDirError, loadOrCreateGeneratedSecrets, loadOrCreateNodeId, parseCredentialKeys, type CredentialKey, type GeneratedSecrets } from './secrets';

/** The repository root, whether running from src/ (tests) or dist/src/ (compiled). */
export const PROJECT_ROOT = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..');
const DEFAULTS_FILE = path.join(PROJECT_ROOT, 'config', 'default.json');

// English messages (zod/mini ships none by default); only this locale, not all of them.
z.config(en());

const positiveInt = z.int().check(z.positive());
const nonNegativeInt = z.int().check(z.nonnegative());
const percent = z.number().check(z.minimum(0), z.maximum(100));
const portNumber = z.int().check(z.minimum(1), z.maximum(65535));

/** Hosts an owner lets outbound deliveries reach although they are not public (src/http/url-guard). */
const hostAllowList = z.array(z.string().check(z.regex(/^[A-Za-z0-9.:[\]_-]+$/, 'expected host names or IP addresses such as "crm.internal" or "10.0.0.5"')));

/** An outbox's loop (sponsor leads, alert messages): how often, how many, lease, timeout and retries. */
const outboxDelivery = {
  deliveryIntervalMs: positiveInt,
  deliveryBatchSize: positiveInt,
  deliveryLeaseMs: positiveInt,
  deliveryTimeoutMs: positiveInt,
  deliveryMaxAttempts: positiveInt,
  deliveryRetryBaseSeconds: positiveInt,
  deliveryRetryMaxSeconds: positiveInt,
};

/**
 * Proxies whose X-Forwarded-For the server believes (Express's `trust proxy`): the names
 * loopback / linklocal / uniquelocal, addresses and CIDR ranges; or a hop count (trust that
 * many proxies in front, whoever they are). Not `true`: anyone could then claim any address.
 */
const IPV4 = '(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}(\\/([0-9]|[12]\\d|3[0-2]))?';
const IPV6 = '[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}(\\/([0-9]|[1-9]\\d|1[01]\\d|12[0-8]))?';
const trustedProxy = z.string().check(z.regex(new RegExp(`^(loopback|linklocal|uniquelocal|${IPV4}|${IPV6})$`), 'expected "loopback", "linklocal", "uniquelocal", an IP address or a CIDR range such as "10.0.0.0/8"'));
const trustProxy = z.union([nonNegativeInt, z.array(trustedProxy).check(z.minLength(1))]);

const tunablesSchema = z.strictObject({
  server: z.strictObject({ shutdownTimeoutMs: positiveInt, requestBodyLimitKb: positiveInt, trustProxy }),
  database: z.strictObject({ poolMax: positiveInt, idleTimeoutMs: positiveInt, statementTimeoutMs: positiveInt, healthCheckTimeoutMs: positiveInt }),
  sending: z.strictObject({
    defaultDailyLimit: positiveInt,
    defaultHourlyLimit: positiveInt,
    minGapSeconds: nonNegativeInt,
    gapJitterPct: percent,
    claimBatchSize: positiveInt,
    leaseMs: positiveInt,
    maxAttempts: positiveInt,
    softBounceMaxAttempts: positiveInt,
    retryBaseSeconds: positiveInt,
    retryMaxSeconds: positiveInt,
    globalPerMinute: positiveInt,
    recipientDomainDailyLimit: positiveInt,
    senderDomainDailyLimit: positiveInt,
    unknownPolicy: z.enum(['hold', 'requeue']),
    maxSendMs: positiveInt,
    reconcileGraceMs: nonNegativeInt,
    idlePollMs: positiveInt,
    workerDbIdleTimeoutMs: positiveInt,
    messageIdDomain: z.string().check(z.regex(/^[A-Za-z0-9.-]+$/, 'expected a domain name such as "mail.example.com"')),
  }),
  warmup: z.strictObject({
    curve: z.string().check(z.regex(/^\d+(,\d+)*$/, 'expected comma-separated daily limits such as "20,40,80"')),
    growthPctPerDay: z.number().check(z.minimum(0)),
    deferralSlowdownPct: percent,
  }),
  health: z.strictObject({
    bounceRateThresholdPct: percent,
    bounceWindowSends: positiveInt,
    consecutiveFailuresToPause: positiveInt,
    cooldownMinutes: positiveInt,
  }),
  circuitBreaker: z.strictObject({ failuresToOpen: positiveInt, openSeconds: positiveInt }),
  orchestrator: z.strictObject({
    enabled: z.boolean(),
    reconcileIntervalMs: positiveInt,
    heartbeatIntervalMs: positiveInt,
    heartbeatStaleMs: positiveInt,
    startBatchSize: positiveInt,
    startConcurrency: positiveInt,
    maxStartingWorkers: positiveInt,
    maxRestartsPerHour: nonNegativeInt,
    nodeLeaseMs: positiveInt,
    restartBackoffBaseMs: positiveInt,
    restartBackoffMaxMs: positiveInt,
    workerStopTimeoutMs: positiveInt,
    /**
     * A worker whose next send is further away than this exits (state 'idle_exit', not a crash);
     * 0 keeps every worker resident while it has work ahead. See README "Workers that come and go".
     */
    workerKeepAliveSeconds: nonNegativeInt,
    /** How long before an exited worker's next send the orchestrator starts it again. */
    workerWakeLeadSeconds: positiveInt,
    /**
     * Worker processes one node runs at most (online or starting); "auto": sized from the
     * machine's memory; null: no cap. See src/orchestrator/worker-cap.ts.
     */
    maxWorkers: z.nullable(z.union([positiveInt, z.literal('auto')])),
    workerLogs: z.enum(['file', 'none']),
    workerLogMaxBytes: positiveInt,
    sweepIntervalMs: positiveInt,
    rateCounterRetentionDays: positiveInt,
    alertRetentionDays: positiveInt,
  }),
  tracking: z.strictObject({
    eventFlushMs: positiveInt,
    eventBatchSize: positiveInt,
    maxBufferedEvents: positiveInt,
    publicRateLimitPerMinute: positiveInt,
    scannerClickWindowSeconds: nonNegativeInt,
    privacyProxyUserAgents: z.array(z.string().check(z.minLength(1))),
    privacyProxyIpRanges: z.array(z.string().check(z.regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected CIDR such as "17.0.0.0/8"'))),
    scannerUserAgents: z.array(z.string().check(z.minLength(1))),
  }),
  sponsors: z.strictObject({
    apiRateLimitPerMinute: positiveInt,
    leadBodyLimitKb: positiveInt,
    ...outboxDelivery,
    deliveryHostAllowList: hostAllowList,
  }),
  // The CSV reader's limits (src/http/csv-reader.ts): a field is part of a record, so it cannot be the larger.
  imports: z
    .strictObject({
      maxCsvBytes: positiveInt,
      maxRecordBytes: positiveInt,
      maxFieldBytes: positiveInt,
      maxColumns: positiveInt,
      maxRows: positiveInt,
      maxReportedErrors: positiveInt,
      maxAccountRows: positiveInt,
    })
    .check(z.refine((imports) => imports.maxFieldBytes <= imports.maxRecordBytes, { message: 'maxFieldBytes must not exceed maxRecordBytes', path: ['maxFieldBytes'] })),
  sink: z.strictObject({ enabled: z.boolean(), host: z.string().check(z.minLength(1)), port: portNumber }),
  // Google's endpoints; a test points them at its local emulator.
  gmail: z.strictObject({ apiRootUrl: z.url(), tokenUrl: z.url() }),
  auth: z.strictObject({ accessTokenTtlSeconds: positiveInt, refreshTokenTtlSeconds: positiveInt, loginAttemptsPerMinute: positiveInt }),
  // Deliverability guard (src/dns/): sender domains' DNS, blocklists, bulk-sender counts.
  dns: z.strictObject({
    // DNS servers asked ("127.0.0.1:5353" or "10.0.0.2"); empty: the system's. Never a public resolver for DNSBLs (Spamhaus refuses them).
    servers: z.array(z.string().check(z.regex(/^(\[[0-9a-fA-F:]+\]|[0-9.]+)(:\d{1,5})?$|^[0-9a-fA-F:]+$/, 'expected an IP address with an optional port such as "127.0.0.1:5353"'))),
    timeoutMs: positiveInt,
    enforceOnStart: z.enum(['refuse', 'warn', 'off']),
    blocklists: z.array(z.strictObject({ zone: z.string().check(z.regex(/^[A-Za-z0-9.-]+$/, 'expected a DNS zone such as "zen.spamhaus.org"')), type: z.enum(['ip', 'domain']) })),
    pauseOnListing: z.boolean(),
    // Recipients a day at Gmail, Yahoo and Microsoft consumer domains per primary sender domain: warn from here (bulk-sender rules apply at 5,000).
    bulkSenderWarnAt: positiveInt,
    // Consumer mailbox domains; "yahoo.*" matches yahoo.com, yahoo.co.uk…
    consumerDomains: z.array(z.string().check(z.regex(/^[a-z0-9.-]+(\.\*)?$/, 'expected a lower-case domain such as "gmail.com" or "yahoo.*"'))),
  }),
  inbound: z.strictObject({
    softBounceSuppressAfter: positiveInt,
    softBounceWindowDays: positiveInt,
    pauseOnComplaint: z.boolean(),
    autoReplyDelayHours: nonNegativeInt,
    stopCompanyOnReply: z.boolean(),
    freeMailDomains: z.array(z.string().check(z.regex(/^[a-z0-9.-]+$/, 'expected a lower-case domain such as "gmail.com"'))),
    // Complaint (spam) and hard-bounce rates per sender domain (src/domains/domain-rates.ts).
    domainRateWindowDays: positiveInt,
    domainRateMinSends: positiveInt,
    domainComplaintRateWarnPct: percent,
    domainComplaintRatePausePct: percent,
    pauseDomainOnComplaintRate: z.boolean(),
    retentionDays: positiveInt,
    enabled: z.boolean(),
    pollIntervalSeconds: positiveInt,
    activePollIntervalSeconds: positiveInt,
    activeWindowMinutes: positiveInt,
    concurrency: positiveInt,
    markProcessed: z.enum(['none', 'seen', 'keyword']),
    maxMessageBytes: z.int().check(z.minimum(1024)),
    maxMessagesPerPoll: positiveInt,
    initialLookbackHours: nonNegativeInt,
    alertAfterFailures: positiveInt,
    connectTimeoutMs: positiveInt,
    pollTimeoutMs: positiveInt,
  }),
  // GET /metrics (src/metrics/): on the main port behind a bearer token, or on a port of its own (port set).
  metrics: z.strictObject({
    enabled: z.boolean(),
    port: z.nullable(portNumber),
    host: z.string().check(z.minLength(1)),
    cacheMs: nonNegativeInt,
    statementTimeoutMs: positiveInt,
    counterSettleSeconds: nonNegativeInt,
    domainRefreshSeconds: positiveInt,
  }),
  // ESP event webhooks (src/webhooks/).
  webhooks: z.strictObject({
    bodyLimitKb: positiveInt,
    timestampToleranceSeconds: positiveInt,
    processIntervalMs: positiveInt,
    processBatchSize: positiveInt,
    processLeaseMs: positiveInt,
    maxAttempts: positiveInt,
    retryBaseSeconds: positiveInt,
    retryMaxSeconds: positiveInt,
    retentionDays: positiveInt,
    sns: z.strictObject({
      requestTimeoutMs: positiveInt,
      certificateCacheSeconds: positiveInt,
      // Tests and egress proxies only: SNS requests go to this origin instead, after their URL passed the AWS host check.
      originOverride: z.nullable(z.url().check(z.regex(/^https?:\/\/[^/?#]+\/?$/, 'expected an origin such as "http://127.0.0.1:8443"'))),
    }),
  }),
  // Alert channels (src/alerts/): where Telegram and Slack are reached (tests point them at local peers).
  alerts: z.strictObject({
    telegramApiBaseUrl: z.url().check(z.regex(/^https?:\/\//, 'expected an http(s) URL such as "https://api.telegram.org"')),
    slackWebhookUrlPrefix: z.url().check(z.regex(/^https?:\/\/.+\/$/, 'expected a URL ending in "/" such as "https://hooks.slack.com/services/"')),
    webhookHostAllowList: hostAllowList,
    // E-mail channels: this SMTP relay, or the dev sink when the host is empty and the sink is on.
    emailSmtpHost: z.string(),
    emailSmtpPort: portNumber,
    emailFrom: z.email(),
    channelMessagesPerHour: positiveInt,
    ...outboxDelivery,
  }),
  // Raw history kept (days) before the nightly job deletes it; the statistics live on in the
  // rollups. Inbound messages: inbound.retentionDays; resolved alerts: orchestrator.alertRetentionDays.
  retention: z.strictObject({
    trackingEventsDays: positiveInt,
    sendLogsDays: positiveInt,
    sinkMessagesDays: positiveInt,
    deleteBatchSize: positiveInt,
  }),
});

export type Tunables = z.infer<typeof tunablesSchema>;

const nonEmpty = z.string().check(z.minLength(1));
const envSchema = z.object({
  DATABASE_URL: z.optional(z.string().check(z.refine(isPostgresUrl, 'expected a URL such as postgres://user:password@host:5432/dbname'))),
  PORT: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(65535)), 3000),
  HOST: z._default(nonEmpty, '0.0.0.0'),
  BASE_URL: z.optional(z.url()),
  DATA_DIR: z.optional(nonEmpty),
  CONFIG_FILE: z.optional(nonEmpty),
  LOG_LEVEL: z._default(z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']), 'info'),
  NODE_ID: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-" only'))),
  JWT_SECRET: z.optional(z.string().check(z.minLength(32, 'must be at least 32 characters'))),
  CREDENTIALS_KEYS: z.optional(z.string()),
  TRACKING_KEYS: z.optional(z.string()),
  PM2_HOME: z.optional(nonEmpty),
  WORKER_NODE_EXTRA_CA_CERTS: z.optional(nonEmpty),
  METRICS_BEARER_TOKEN: z.optional(z.string().check(z.minLength(16, 'must be at least 16 characters'))),
  ERASURE_HASH_KEY: z.optional(nonEmpty),
});

export interface Config extends Tunables {
  databaseUrl: string | undefined;
  port: number;
  host: string;
  baseUrl: string;
  dataDir: string;
  logLevel: string;
  nodeId: string;
  jwtSecret: string;
  credentialKeys: CredentialKey[];
  /**
   * Keys of tracking, unsubscribe and landing links (TRACKING_KEYS, else DATA_DIR's generated
   * one): the first signs, all verify. The JWT secret verifies too (src/tracking/tracking-signer.ts).
   */
  trackingKeys: Buffer[];
  /** Keys the hash an erased address leaves on the suppression list (src/erasure/address-hash.ts); never changes. */
  addressHashKey: Buffer;
  /** PM2's home (socket, pid, logs) for the workers' daemon; undefined = PM2's default (~/.pm2). */
  pm2Home: string | undefined;
  /** The bearer token /metrics asks for on the main port; undefined = the one generated in DATA_DIR/metrics-token. */
  metricsBearerToken: string | undefined;
  /** Password of the embedded Postgres superuser (only used without DATABASE_URL). */
  embeddedPostgresPassword: string;
  /**
   * The environment a send worker needs for its own loadConfig() to arrive at this same
   * configuration. Workers get only this (plus DATABASE_URL), not the server's whole
   * environment: PM2 keeps a copy of every app's environment, 1,200 times over.
   */
  workerEnv: Record<string, string>;
}

/** A configuration problem found at start; main prints its message as one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '' && url.pathname.length > 1;
  } catch {
    return false;
  }
}

function describeIssues(error: z.core.$ZodError, prefix: string): string {
  return error.issues.map((issue) => `${[prefix, ...issue.path].filter(Boolean).join('.')}: ${issue.message}`).join('; ');
}

/** Deep-merges plain objects; arrays and scalars from `overlay` replace those in `base`. */
function mergeDeep(base: unknown, overlay: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(overlay)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(overlay)) merged[key] = mergeDeep(base[key], value);
    return merged;
  }
  return overlay === undefined ? base : overlay;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJsonFile(file: string, label: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${label} (${file}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${label} (${file}) is not valid JSON: ${(error as Error).message}`);
  }
}

/** Validates the tunables: defaults, overlaid by an optional override object. */
export function parseTunables(overrides: unknown = {}): Tunables {
  const result = tunablesSchema.safeParse(mergeDeep(readJsonFile(DEFAULTS_FILE, 'config/default.json'), overrides));
  if (!result.success) throw new ConfigError(`Invalid configuration: ${describeIssues(result.error, '')}`);
  return result.data;
}

/** DATA_DIR as the configuration resolves it (relative to the repository root), without reading anything. */
export function dataDirFrom(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(PROJECT_ROOT, env.DATA_DIR || '.data');
}

/**
 * Whether DATABASE_URL is set, without validating or generating anything: a restore must
 * know which database it targets before loadConfig() creates DATA_DIR's secrets.
 */
export function usesDatabaseUrl(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DATABASE_URL);
}

/**
 * Builds the whole configuration. `env` defaults to process.env; tests pass their own.
 * Generates the embedded default's secrets into DATA_DIR on first use.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsedEnv = envSchema.safeParse(env);
  if (!parsedEnv.success) throw new ConfigError(`Invalid environment: ${describeIssues(parsedEnv.error, '')}`);
  const e = parsedEnv.data;

  const tunables = parseTunables(e.CONFIG_FILE ? readJsonFile(e.CONFIG_FILE, 'CONFIG_FILE') : {});
  const dataDir = dataDirFrom({ DATA_DIR: e.DATA_DIR });
  let generated: GeneratedSecrets;
  let nodeId: string;
  try {
    generated = loadOrCreateGeneratedSecrets(dataDir);
    nodeId = e.NODE_ID ?? loadOrCreateNodeId(dataDir, generated.legacyNodeId);
  } catch (error) {
    if (error instanceof DataDirError) throw new ConfigError(error.message);
    throw error;
  }

  let credentialKeys: CredentialKey[];
  try {
    credentialKeys = e.CREDENTIALS_KEYS ? parseCredentialKeys(e.CREDENTIALS_KEYS) : [generated.credentialKey];
  } catch (error) {
    throw new ConfigError(`Invalid environment: CREDENTIALS_KEYS: ${(error as Error).message}`);
  }

  let trackingKeys: Buffer[];
  try {
    trackingKeys = e.TRACKING_KEYS ? parseCredentialKeys(e.TRACKING_KEYS).map((k) => k.key) : [generated.trackingKey];
  } catch (error) {
    throw new ConfigError(`Invalid environment: TRACKING_KEYS: ${(error as Error).message}`);
  }
  let addressHashKey: Buffer;
  try {
    addressHashKey = e.ERASURE_HASH_KEY ? parseErasureKey(e.ERASURE_HASH_KEY) : generated.erasureKey;
  } catch (error) {
    throw new ConfigError(`Invalid environment: ERASURE_HASH_KEY: ${(error as Error).message}`);
  }

  return {
    ...tunables,
    databaseUrl: e.DATABASE_URL,
    port: e.PORT,
    host: e.HOST,
    baseUrl: (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir,
    logLevel: e.LOG_LEVEL,
    nodeId,
    jwtSecret: e.JWT_SECRET ?? generated.jwtSecret,
    credentialKeys,
    trackingKeys,
    addressHashKey,
    pm2Home: e.PM2_HOME,
    metricsBearerToken: e.METRICS_BEARER_TOKEN,
    embeddedPostgresPassword: generated.embeddedPostgresPassword,
    workerEnv: {
      DATA_DIR: dataDir,
      BASE_URL: (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
      LOG_LEVEL: e.LOG_LEVEL,
      NODE_ID: nodeId,
      ...(e.CONFIG_FILE ? { CONFIG_FILE: path.resolve(e.CONFIG_FILE) } : {}),
      // Set only when the operator set them; otherwise workers read the same DATA_DIR secrets.
      ...(e.JWT_SECRET ? { JWT_SECRET: e.JWT_SECRET } : {}),
      ...(e.CREDENTIALS_KEYS ? { CREDENTIALS_KEYS: e.CREDENTIALS_KEYS } : {}),
      ...(e.TRACKING_KEYS ? { TRACKING_KEYS: e.TRACKING_KEYS } : {}),
      ...(e.ERASURE_HASH_KEY ? { ERASURE_HASH_KEY: e.ERASURE_HASH_KEY } : {}),
      // Not the server's NODE_EXTRA_CA_CERTS: Node loads that file in every process at start
      // (measured: +1.1 MB and +50 ms of CPU per worker with Debian's bundle). Only workers
      // that must trust a private CA (their SMTP relay's) get one, when the operator says so.
      ...(e.WORKER_NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: path.resolve(e.WORKER_NODE_EXTRA_CA_CERTS) } : {}),
    },
  };
}
