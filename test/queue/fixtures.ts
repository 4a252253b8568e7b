/**
 * Builds the rows the sending engine works on, straight into the test database: a client, its
 * sender accounts, a running campaign with steps, contacts in it. Limits default to "lifted"
 * so each test sets only the limit it is about.
 */
import type { Db } from '../../src/db/connection';
import type { NewSenderAccount } from '../../src/db/database';
import type { ClaimSettings } from '../../src/queue/claim';
import type { RecordSettings } from '../../src/sending/result-recorder';

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

export async function createClient(db: Db, values: { dailyLimit?: number; trackingDomain?: string | null } = {}) {
  return db
    .insertInto('clients')
    .values({ name: `client-${unique()}`, postal_address: '1 Main St, Springfield', tracking_domain: values.trackingDomain ?? null, daily_limit: values.dailyLimit ?? null, settings: '{}' })
    .returning(['id'])
    .executeTakeFirstOrThrow();
}

export async function createAccount(db: Db, clientId: string, values: Partial<NewSenderAccount> = {}) {
  return db
    .insertInto('sender_accounts')
    .values({
      client_id: clientId,
      email: `sender-${unique()}@sender.test`,
      display_name: 'Sam Sender',
      transport: 'smtp',
      transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525 }),
      daily_limit: 100_000,
      hourly_limit: 100_000,
      min_gap_seconds: 0,
      warmup_enabled: false,
      // Before every controlled-clock time the tests use: the health period starts here.
      created_at: '2026-01-01T00:00:00Z',
      ...values,
    })
    .returning(['id', 'email'])
    .executeTakeFirstOrThrow();
}

export interface CampaignSetup {
  senders: string[];
  steps?: Array<{ delayMinutes: number; subject?: string }>;
  status?: 'running' | 'draft' | 'paused';
  dailyLimit?: number | null;
  window?: { sendDays: number[]; startMinute: number; endMinute: number; timeZone?: string; useRecipientTimeZone?: boolean };
}

export async function createCampaign(db: Db, clientId: string, setup: CampaignSetup) {
  const window = setup.window ?? { sendDays: [1, 2, 3, 4, 5, 6, 7], startMinute: 0, endMinute: 1440 };
  const campaign = await db
    .insertInto('campaigns')
    .values({
      client_id: clientId,
      name: `campaign-${unique()}`,
      status: setup.status ?? 'running',
      time_zone: window.timeZone ?? 'UTC',
      use_recipient_time_zone: window.useRecipientTimeZone ?? false,
      send_days: window.sendDays,
      window_start_minute: window.startMinute,
      window_end_minute: window.endMinute,
      daily_limit: setup.dailyLimit ?? null,
    })
    .returning(['id'])
    .executeTakeFirstOrThrow();
  const steps = setup.steps ?? [{ delayMinutes: 0 }];
  await db
    .insertInto('sequence_steps')
    .values(
      steps.map((s, i) => ({
        campaign_id: campaign.id,
        step_number: i + 1,
        subject: s.subject ?? (i === 0 ? 'Hello {{first_name|there}}' : ''),
        body_text: `Step ${i + 1} for {{first_name|friend}} at {{company|your company}}`,
        body_html: '',
        delay_minutes: s.delayMinutes,
      })),
    )
    .execute();
  if (setup.senders.length) await db.insertInto('campaign_senders').values(setup.senders.map((accountId) => ({ campaign_id: campaign.id, account_id: accountId }))).execute();
  return campaign;
}

/** Contacts `prefix-0@domain` … added to the campaign as active. */
export async function addContacts(db: Db, clientId: string, campaignId: string, count: number, options: { domain?: string | ((i: number) => string); timeZone?: string | null } = {}) {
  if (count === 0) return [];
  const tag = unique();
  const rows = Array.from({ length: count }, (_, i) => {
    const domain = typeof options.domain === 'function' ? options.domain(i) : (options.domain ?? 'example.test');
    return { client_id: clientId, email: `c${i}-${tag}@${domain}`, email_domain: domain, first_name: `Name${i}`, company: 'Acme', time_zone: options.timeZone ?? null, custom_fields: '{}' };
  });
  const contacts = [];
  for (let i = 0; i < rows.length; i += 1000) {
    contacts.push(...(await db.insertInto('contacts').values(rows.slice(i, i + 1000)).returning(['id', 'email']).execute()));
  }
  for (let i = 0; i < contacts.length; i += 1000) {
    await db
      .insertInto('campaign_contacts')
      .values(contacts.slice(i, i + 1000).map((c) => ({ campaign_id: campaignId, contact_id: c.id })))
      .execute();
  }
  return contacts;
}

export const liftedClaimSettings = (overrides: Partial<ClaimSettings> = {}): ClaimSettings => ({
  batchSize: 10,
  leaseMs: 60_000,
  gapJitterPct: 0,
  globalPerMinute: 1_000_000,
  recipientDomainDailyLimit: 1_000_000,
  senderDomainDailyLimit: 1_000_000,
  cooldownMinutes: 60,
  warmup: { curve: '20,40,80', growthPctPerDay: 0 },
  ...overrides,
});

export const recordSettings = (overrides: Partial<RecordSettings> = {}): RecordSettings => ({
  maxAttempts: 3,
  softBounceMaxAttempts: 2,
  retryBaseSeconds: 60,
  retryMaxSeconds: 3600,
  cooldownMinutes: 60,
  health: { bounceRateThresholdPct: 5, bounceWindowSends: 20, consecutiveFailuresToPause: 5 },
  circuitBreaker: { failuresToOpen: 5, openSeconds: 600 },
  ...overrides,
});

export async function queueRows(db: Db, campaignId: string) {
  return db.selectFrom('email_queue').selectAll().where('campaign_id', '=', campaignId).orderBy('id').execute();
}
