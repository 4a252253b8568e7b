/**
 * The one Database interface Kysely is typed with; mirrors db/migrations. Column names are
 * snake_case as in SQL. int8 columns are parsed to number and date columns stay strings
 * (see connection.ts).
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T = Record<string, unknown>> = ColumnType<T, T | string | undefined, T | string>;
type Numeric = ColumnType<number, number | string | undefined, number | string>;

export type UserRole = 'owner' | 'client_admin' | 'client_viewer';
export type TransportKind = 'smtp' | 'gmail' | 'sink';
export type AccountStatus = 'active' | 'paused' | 'suspended' | 'disabled' | 'crashed';
export type CampaignStatus = 'draft' | 'running' | 'paused' | 'completed' | 'cancelled';
export type CampaignContactStatus = 'active' | 'replied' | 'bounced' | 'complained' | 'unsubscribed' | 'finished' | 'cancelled';
export type QueueStatus =
  | 'queued'
  | 'claimed'
  | 'sending'
  | 'sent'
  | 'bounced'
  | 'failed'
  | 'unknown'
  | 'held'
  | 'suppressed'
  | 'cancelled';
export type SendOutcome = 'accepted' | 'transient' | 'recipient_hard' | 'recipient_soft' | 'sender_reputation' | 'sender_auth' | 'auth' | 'unknown' | 'reconciled';
export type SuppressionReason = 'unsubscribed' | 'hard_bounce' | 'soft_bounce' | 'complaint' | 'manual';
export type InboundKind = 'bounce' | 'delay' | 'delivered' | 'complaint' | 'reply' | 'auto_reply' | 'unmatched';
export type RateScope = 'account' | 'sender_domain' | 'recipient_domain' | 'campaign' | 'client' | 'global';
export type RateWindow = 'day' | 'hour' | 'minute';

export interface ClientsTable {
  id: Generated<string>;
  name: string;
  postal_address: Generated<string>;
  tracking_domain: string | null;
  daily_limit: number | null;
  settings: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  client_id: string | null;
  email: string;
  password_hash: string;
  role: UserRole;
  token_version: Generated<number>;
  disabled_at: NullableTimestamp;
  last_login_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  expires_at: Date | string;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface SenderDomainsTable {
  id: Generated<string>;
  client_id: string;
  domain: string;
  dkim_selector: string | null;
  dkim_private_key_encrypted: string | null;
  spf_status: Generated<string>;
  dkim_status: Generated<string>;
  dmarc_status: Generated<string>;
  dns_checked_at: NullableTimestamp;
  dns_check_details: Json;
  daily_limit: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** 0019: the domain's bounce mailbox {host, port, secure, user, mailbox} (IMAP), read for DSNs. */
  bounce_mailbox: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** 0019: its password, encrypted. */
  bounce_mailbox_secret_encrypted: string | null;
}

/** 0019: one mailbox the server reads (cursor, schedule, claim, last error). */
export interface InboundMailboxesTable {
  id: Generated<string>;
  account_id: string | null;
  domain_id: string | null;
  since: ColumnType<Date, Date | string, Date | string>;
  uid_validity: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  last_uid: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  gmail_history_id: string | null;
  last_seen_at: NullableTimestamp;
  next_poll_at: ColumnType<Date, Date | string, Date | string>;
  claimed_until: NullableTimestamp;
  claimed_by: string | null;
  last_read_at: NullableTimestamp;
  last_error: string | null;
  last_error_at: NullableTimestamp;
  consecutive_failures: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SenderAccountsTable {
  id: Generated<string>;
  client_id: string;
  domain_id: string | null;
  email: string;
  display_name: Generated<string>;
  transport: TransportKind;
  transport_settings: Json;
  credentials_encrypted: string | null;
  status: Generated<AccountStatus>;
  pause_reason: string | null;
  paused_until: NullableTimestamp;
  daily_limit: Generated<number>;
  hourly_limit: Generated<number>;
  min_gap_seconds: Generated<number>;
  warmup_enabled: Generated<boolean>;
  warmup_curve: string | null;
  warmup_started_on: string | null;
  health_score: Numeric;
  consecutive_failures: Generated<number>;
  probe_pending: Generated<boolean>;
  next_send_at: NullableTimestamp;
  time_zone: Generated<string>;
  owner_node_id: string | null;
  owner_lease_expires_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** 0002: start of the current health period (bounce rate, complaints). */
  resumed_at: NullableTimestamp;
  /** 0007: deferred share (%) of the health window's attempts; slows the warm-up. */
  deferral_rate_pct: Numeric;
}

export interface CampaignsTable {
  id: Generated<string>;
  client_id: string;
  name: string;
  status: Generated<CampaignStatus>;
  time_zone: Generated<string>;
  use_recipient_time_zone: Generated<boolean>;
  send_days: ColumnType<number[], number[] | undefined, number[]>;
  window_start_minute: Generated<number>;
  window_end_minute: Generated<number>;
  daily_limit: number | null;
  track_opens: Generated<boolean>;
  track_clicks: Generated<boolean>;
  stop_on_reply: Generated<boolean>;
  /** null: inbound.stopCompanyOnReply decides. */
  stop_company_on_reply: boolean | null;
  started_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CampaignSendersTable {
  campaign_id: string;
  account_id: string;
}

export interface SequenceStepsTable {
  id: Generated<string>;
  campaign_id: string;
  step_number: number;
  subject: string;
  body_html: Generated<string>;
  body_text: Generated<string>;
  delay_minutes: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ContactsTable {
  id: Generated<string>;
  client_id: string;
  email: string;
  email_domain: string;
  first_name: Generated<string>;
  last_name: Generated<string>;
  company: Generated<string>;
  time_zone: string | null;
  custom_fields: Json<Record<string, string>>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CampaignContactsTable {
  campaign_id: string;
  contact_id: string;
  status: Generated<CampaignContactStatus>;
  account_id: string | null;
  thread_message_id: string | null;
  added_at: Timestamp;
}

export interface EmailQueueTable {
  id: Generated<number>;
  client_id: string;
  campaign_id: string;
  contact_id: string;
  step_id: string;
  step_number: number;
  account_id: string | null;
  to_email: string;
  recipient_domain: string;
  status: Generated<QueueStatus>;
  run_after: Timestamp;
  attempts: Generated<number>;
  message_id: string;
  lease_token: string | null;
  lease_expires_at: NullableTimestamp;
  last_error: string | null;
  priority: Generated<number>;
  sent_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** 0002: the mailbox holding the claim, and when its limit counters were reserved. */
  claimed_by_account_id: string | null;
  claimed_at: NullableTimestamp;
  /** 0012: when the row was handed to the transport (status `sending`). */
  sending_at: NullableTimestamp;
}

export interface SendLogsTable {
  id: Generated<number>;
  queue_id: number;
  client_id: string;
  campaign_id: string;
  account_id: string | null;
  message_id: string;
  attempt: number;
  outcome: SendOutcome;
  smtp_code: number | null;
  enhanced_code: string | null;
  response: string | null;
  provider_message_id: string | null;
  duration_ms: number | null;
  created_at: Timestamp;
  /** 0009: the classification table's reason code (e.g. "user_unknown"). */
  reason: string | null;
}

export interface SuppressionsTable {
  id: Generated<number>;
  client_id: string;
  email: string;
  reason: SuppressionReason;
  source: Generated<string>;
  created_at: Timestamp;
}

export interface BouncesTable {
  id: Generated<number>;
  client_id: string;
  queue_id: number | null;
  account_id: string | null;
  email: string;
  bounce_type: 'hard' | 'soft';
  code: string | null;
  diagnostic: string | null;
  source: Generated<string>;
  received_at: Timestamp;
  /** 0018: the inbound message (DSN, ARF, reply, ESP event) that recorded it. */
  inbound_message_id: number | null;
}

export interface ComplaintsTable {
  id: Generated<number>;
  client_id: string;
  queue_id: number | null;
  account_id: string | null;
  email: string;
  source: Generated<string>;
  received_at: Timestamp;
  /** 0018: the inbound message (DSN, ARF, reply, ESP event) that recorded it. */
  inbound_message_id: number | null;
}

export interface RepliesTable {
  id: Generated<number>;
  client_id: string;
  queue_id: number | null;
  campaign_id: string | null;
  contact_id: string | null;
  account_id: string | null;
  from_email: string;
  subject: Generated<string>;
  snippet: Generated<string>;
  message_id: string | null;
  received_at: Timestamp;
  /** 0018: the inbound message (DSN, ARF, reply, ESP event) that recorded it. */
  inbound_message_id: number | null;
}

export interface LinksTable {
  id: Generated<number>;
  client_id: string;
  campaign_id: string;
  step_id: string;
  url: string;
  created_at: Timestamp;
}

export interface OpenEventsTable {
  id: Generated<number>;
  client_id: string;
  campaign_id: string;
  queue_id: number;
  ip: string | null;
  user_agent: string | null;
  automated_reason: string | null;
  occurred_at: Timestamp;
  /** 'pixel' (ours) or the ESP that reported the open. */
  source: Generated<string>;
  provider_event_id: string | null;
}

export interface ClickEventsTable {
  id: Generated<number>;
  client_id: string;
  campaign_id: string;
  queue_id: number;
  /** null for an ESP-reported click (url holds what it reported). */
  link_id: number | null;
  ip: string | null;
  user_agent: string | null;
  automated_reason: string | null;
  occurred_at: Timestamp;
  /** 'link' (ours) or the ESP that reported the click. */
  source: Generated<string>;
  provider_event_id: string | null;
  url: string | null;
}

export interface SenderDomainRateLevelsTable {
  client_id: string;
  domain: string;
  level: 'warn' | 'pause';
  complaint_rate_pct: number;
  updated_at: Timestamp;
}

export interface SponsorsTable {
  id: Generated<string>;
  client_id: string;
  name: string;
  delivery_url: string | null;
  delivery_secret_encrypted: string | null;
  status: Generated<'active' | 'disabled'>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SponsorApiKeysTable {
  id: Generated<string>;
  sponsor_id: string;
  key_prefix: string;
  key_hash: string;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface OffersTable {
  id: Generated<string>;
  client_id: string;
  sponsor_id: string;
  name: string;
  description: Generated<string>;
  landing_url: string | null;
  payout_cents: number | null;
  lead_fields: Json<string[]>;
  status: Generated<'active' | 'paused' | 'archived'>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface LeadsTable {
  id: Generated<string>;
  client_id: string;
  sponsor_id: string;
  offer_id: string | null;
  idempotency_key: string;
  email: string;
  data: Json;
  source_queue_id: number | null;
  /** 0005: hash of the validated request, to tell a retry from a conflicting reuse of the key. */
  request_hash: string | null;
  created_at: Timestamp;
}

export interface LeadDeliveriesTable {
  id: Generated<number>;
  lead_id: string;
  status: Generated<'pending' | 'delivering' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  lease_expires_at: NullableTimestamp;
  /** 0005: who holds the delivery attempt. */
  lease_token: string | null;
  last_error: string | null;
  delivered_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface NodesTable {
  id: string;
  hostname: string;
  pid: number;
  started_at: Timestamp;
  last_heartbeat_at: Timestamp;
}

export interface WorkerHeartbeatsTable {
  account_id: string;
  node_id: string | null;
  pid: number | null;
  state: string;
  details: Json;
  beat_at: Timestamp;
}

export interface RateCountersTable {
  scope: RateScope;
  scope_key: string;
  window_kind: RateWindow;
  window_start: Date | string;
  count: Generated<number>;
}

export interface CircuitBreakersTable {
  scope: 'provider' | 'recipient_domain';
  scope_key: string;
  consecutive_failures: Generated<number>;
  opened_until: NullableTimestamp;
  updated_at: Timestamp;
}

export interface AlertsTable {
  id: Generated<number>;
  client_id: string | null;
  account_id: string | null;
  severity: 'info' | 'warning' | 'critical';
  code: string;
  message: string;
  details: Json;
  created_at: Timestamp;
  resolved_at: NullableTimestamp;
  /** With client_id and code, what the alert is about ("account:<id>", "domain:<name>"): one open alert per triple. */
  entity_key: string;
  occurrences: Generated<number>;
  last_seen_at: Timestamp;
  acknowledged_at: NullableTimestamp;
  acknowledged_by: string | null;
}

export type AlertSeverity = 'info' | 'warning' | 'critical';
export type AlertChannelKind = 'telegram' | 'slack' | 'webhook' | 'email';

export interface AlertChannelsTable {
  id: Generated<string>;
  client_id: string | null;
  kind: AlertChannelKind;
  name: string;
  min_severity: ColumnType<AlertSeverity, AlertSeverity | undefined, AlertSeverity>;
  enabled: Generated<boolean>;
  /** Not secret: the Telegram chat id, the webhook URL, the e-mail address. */
  settings: Json;
  secret_encrypted: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AlertDeliveriesTable {
  id: Generated<number>;
  channel_id: string;
  alert_id: number | null;
  event: 'raised' | 'resolved' | 'test';
  status: ColumnType<'pending' | 'delivering' | 'delivered' | 'failed' | 'rate_limited', 'pending' | 'rate_limited' | undefined, 'pending' | 'delivering' | 'delivered' | 'failed' | 'rate_limited'>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  lease_token: string | null;
  lease_expires_at: NullableTimestamp;
  last_error: string | null;
  delivered_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface AuditLogTable {
  id: Generated<number>;
  client_id: string | null;
  actor_type: 'user' | 'system' | 'worker' | 'sponsor';
  actor_id: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  details: Json;
  created_at: Timestamp;
  /** 0025: the API caller as it was at the time (rows written by the API; null on automatic ones). */
  actor_email: string | null;
  actor_role: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  ip: string | null;
  user_agent: string | null;
  /** 0025: the target's state before and after a settings change, secrets redacted. */
  before: Json<unknown> | null;
  after: Json<unknown> | null;
  /** 0025: the request body, secrets redacted. */
  changes: Json<unknown> | null;
}

export interface RuntimeSettingsTable {
  key: string;
  value: Json<unknown>;
  updated_at: Timestamp;
}

export interface SinkMessagesTable {
  id: Generated<number>;
  mail_from: Generated<string>;
  rcpt_to: ColumnType<string[], string[] | undefined, string[]>;
  message_id: string | null;
  subject: Generated<string>;
  raw: string;
  size_bytes: number;
  received_at: Timestamp;
}

/** 0018: every inbound message and ESP feedback event, once (src/inbound/). */
export interface InboundMessagesTable {
  id: Generated<number>;
  client_id: string | null;
  account_id: string | null;
  account_key: Generated<string>;
  source: string;
  source_key: string;
  received_at: Timestamp;
  from_address: string | null;
  to_address: string | null;
  subject: Generated<string>;
  message_id: string | null;
  headers: Json<Record<string, string>>;
  kind: InboundKind;
  sub_kind: string | null;
  reason: string | null;
  evidence: Generated<string>;
  classification: Json;
  queue_id: number | null;
  campaign_id: string | null;
  contact_id: string | null;
  step_number: number | null;
  match_method: string | null;
  text: string | null;
  raw: Buffer | null;
  raw_size: Generated<number>;
  effects: Json<unknown[]>;
  history: Json<unknown[]>;
  created_at: Timestamp;
}

export type WebhookProvider = 'ses' | 'sendgrid' | 'mailgun';
export type WebhookDeliveryStatus = 'pending' | 'processing' | 'done' | 'failed';

/** 0020: where an ESP posts its events for one client (src/webhooks/). */
export interface WebhookEndpointsTable {
  id: Generated<string>;
  client_id: string;
  provider: WebhookProvider;
  name: string;
  verification_key_encrypted: string | null;
  topic_arns: ColumnType<string[], string[] | undefined, string[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** 0020: verified webhook bodies waiting to become feedback events (the outbox). */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  client_id: string;
  endpoint_id: string | null;
  provider: WebhookProvider;
  body: Buffer;
  body_sha256: Buffer;
  received_at: Timestamp;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  lease_token: string | null;
  lease_expires_at: NullableTimestamp;
  last_error: string | null;
  events: number | null;
  processed_at: NullableTimestamp;
}

/** 0020: Mailgun tokens seen, until they expire (replay cache). */
export interface WebhookTokensTable {
  endpoint_id: string;
  token: string;
  expires_at: Timestamp;
}

export interface Database {
  clients: ClientsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  sender_domains: SenderDomainsTable;
  sender_accounts: SenderAccountsTable;
  campaigns: CampaignsTable;
  campaign_senders: CampaignSendersTable;
  sequence_steps: SequenceStepsTable;
  contacts: ContactsTable;
  campaign_contacts: CampaignContactsTable;
  email_queue: EmailQueueTable;
  send_logs: SendLogsTable;
  suppressions: SuppressionsTable;
  bounces: BouncesTable;
  complaints: ComplaintsTable;
  replies: RepliesTable;
  links: LinksTable;
  open_events: OpenEventsTable;
  click_events: ClickEventsTable;
  sender_domain_rate_levels: SenderDomainRateLevelsTable;
  sponsors: SponsorsTable;
  sponsor_api_keys: SponsorApiKeysTable;
  offers: OffersTable;
  leads: LeadsTable;
  lead_deliveries: LeadDeliveriesTable;
  nodes: NodesTable;
  worker_heartbeats: WorkerHeartbeatsTable;
  rate_counters: RateCountersTable;
  circuit_breakers: CircuitBreakersTable;
  alerts: AlertsTable;
  alert_channels: AlertChannelsTable;
  alert_deliveries: AlertDeliveriesTable;
  audit_log: AuditLogTable;
  runtime_settings: RuntimeSettingsTable;
  sink_messages: SinkMessagesTable;
  inbound_messages: InboundMessagesTable;
  inbound_mailboxes: InboundMailboxesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_tokens: WebhookTokensTable;
}

export type Client = Selectable<ClientsTable>;
export type NewClient = Insertable<ClientsTable>;
export type SenderAccount = Selectable<SenderAccountsTable>;
export type NewSenderAccount = Insertable<SenderAccountsTable>;
export type SenderAccountUpdate = Updateable<SenderAccountsTable>;
export type Campaign = Selectable<CampaignsTable>;
export type QueueRow = Selectable<EmailQueueTable>;
