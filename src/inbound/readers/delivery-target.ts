/**
 * Where the server's inbox reading hands messages: ingestion (src/inbound/ingest.ts,
 * ingestInboundMessage), which stores, classifies, matches and applies each message's effects.
 * Until ingestion is part of the build there is nowhere to hand them, and the server does not
 * read mailboxes at all (reading without storing would move the cursors past mail nobody saw).
 *
 * Merging ingestion is this one line:
 *   return (message) => ingestInboundMessage(db, message, deps);
 */
import type { Config } from '../../config';
import type { Db } from '../../db/connection';
import type { Logger } from '../../logger';
import type { DeliverInbound } from './inbound-delivery';

export function inboundDeliveryTarget(_db: Db, _config: Config, _logger: Logger): DeliverInbound | undefined {
  return undefined;
}
