/**
 * Where the server's inbox reading hands messages: ingestion (src/inbound/ingest.ts), which
 * stores, classifies, matches and applies each message's effects, idempotent on
 * (source, accountId, sourceKey).
 */
import type { Config } from '../../config';
import type { Db } from '../../db/connection';
import { ingestInboundMessage } from '../ingest';
import { inboundSettingsFrom } from '../inbound-settings';
import type { DeliverInbound } from './inbound-delivery';

export function inboundDeliveryTarget(db: Db, config: Config): DeliverInbound {
  const deps = { settings: inboundSettingsFrom(config) };
  return (message) => ingestInboundMessage(db, message, deps);
}
