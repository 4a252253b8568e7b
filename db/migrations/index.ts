/**
 * Every migration, in order. Listed statically (not read from the directory) so the same
 * list works from TypeScript sources in tests and from compiled JavaScript in production.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial';
import * as m0002 from './0002_sending_engine';
import * as m0003 from './0003_sink_messages';
import * as m0004 from './0004_admin_api';
import * as m0005 from './0005_tracking_sponsors';
import * as m0006 from './0006_orchestrator_notify';
import * as m0007 from './0007_account_deferral_rate';
import * as m0008 from './0008_queue_notify';
import * as m0009 from './0009_outcome_classes';
import * as m0010 from './0010_warmup_start_and_last_error';
import * as m0011 from './0011_queue_campaign_pages';
import * as m0012 from './0012_send_in_flight';
import * as m0013 from './0013_account_domain_ownership';
import * as m0018 from './0018_inbound_messages';
import * as m0019 from './0019_inbound_mailboxes';
import * as m0020 from './0020_webhooks';
import * as m0022 from './0022_feedback_rates_esp_tracking';
import * as m0023 from './0023_queue_open_states';
import * as m0024 from './0024_alert_channels';
import * as m0025 from './0025_audit_trail';
import * as m0026 from './0026_erasure';
import * as m0027 from './0027_stats_rollups';
import * as m0028 from './0028_history_retention';
import * as m0029 from './0029_queue_notify_due';
import * as m0030 from './0030_stats_read_indexes';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_sending_engine': m0002,
  '0003_sink_messages': m0003,
  '0004_admin_api': m0004,
  '0005_tracking_sponsors': m0005,
  '0006_orchestrator_notify': m0006,
  '0007_account_deferral_rate': m0007,
  '0008_queue_notify': m0008,
  '0009_outcome_classes': m0009,
  '0010_warmup_start_and_last_error': m0010,
  '0011_queue_campaign_pages': m0011,
  '0012_send_in_flight': m0012,
  '0013_account_domain_ownership': m0013,
  '0018_inbound_messages': m0018,
  '0019_inbound_mailboxes': m0019,
  '0020_webhooks': m0020,
  '0022_feedback_rates_esp_tracking': m0022,
  '0023_queue_open_states': m0023,
  '0024_alert_channels': m0024,
  '0025_audit_trail': m0025,
  '0026_erasure': m0026,
  '0027_stats_rollups': m0027,
  '0028_history_retention': m0028,
  '0029_queue_notify_due': m0029,
  '0030_stats_read_indexes': m0030,
};
