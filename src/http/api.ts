/**
 * The admin API under /api: every route module registers on one ApiRouter, and the OpenAPI
 * document is generated from that same registry.
 */
import type { Router } from 'express';
import { createAccessTokenService } from '../auth/access-token';
import { registerAuthRoutes } from '../auth/auth.routes';
import { createAuthService, type AuthService } from '../auth/auth.service';
import { registerClientRoutes } from '../clients/client.routes';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { registerSponsorAdminRoutes } from '../sponsors/sponsor-admin.routes';
import { registerSponsorApiRoutes } from '../sponsors/sponsor-api.routes';
import { registerAccountRoutes } from '../accounts/account.routes';
import { registerCampaignRoutes } from '../campaigns/campaign.routes';
import { registerContactRoutes } from '../contacts/contact.routes';
import { registerDomainRoutes } from '../domains/domain.routes';
import { registerDomainDnsRoutes } from '../dns/domain-dns.routes';
import { registerInboundRoutes } from '../inbound/inbound.routes';
import { workerListOut, workerListQuery } from '../orchestrator/workers.schemas';
import { registerStatsRoutes } from '../stats/stats.routes';
import { registerSuppressionRoutes } from '../suppressions/suppression.routes';
import { registerSinkMessageRoutes } from '../transports/sink-message.routes';
import { registerUserRoutes } from '../users/user.routes';
import { registerWebhookEndpointRoutes } from '../webhooks/webhook-endpoint.routes';
import { registerAlertRoutes } from '../alerts/alert.routes';
import { createAuditRecorder } from '../audit/audit-recorder';
import { registerAuditRoutes } from '../audit/audit.routes';
import { registerErasureRoutes } from '../erasure/erasure.routes';
import { ApiRouter } from './api-router';
import { buildOpenApiDocument, createOpenApiRegistry } from './openapi';

export interface ApiDeps {
  config: Config;
  db: Db;
  logger: Logger;
  clock?: () => Date;
}

export function createAuthServiceFromConfig(config: Config, db: Db): AuthService {
  return createAuthService(db, createAccessTokenService(config.jwtSecret, config.auth.accessTokenTtlSeconds), config.auth.refreshTokenTtlSeconds);
}

export function adminApiRoutes(deps: ApiDeps): Router {
  return buildAdminApi(deps).router;
}

/** The admin API's ApiRouter itself: its router, and the list of write routes the audit test checks. */
export function buildAdminApi({ config, db, logger, clock = () => new Date() }: ApiDeps): ApiRouter {
  const registry = createOpenApiRegistry();
  const auth = createAuthServiceFromConfig(config, db);
  const api = new ApiRouter(registry, auth, config.server.requestBodyLimitKb * 1024, createAuditRecorder(db, logger));

  registerAuthRoutes(api, db, auth, config.auth.loginAttemptsPerMinute);
  registerClientRoutes(api, db);
  registerUserRoutes(api, db);
  registerDomainRoutes(api, db, config, clock);
  registerDomainDnsRoutes(api, db, config, clock);
  registerAccountRoutes(api, db, config, clock);
  registerCampaignRoutes(api, db, config, clock);
  registerContactRoutes(api, db, config, clock);
  registerSuppressionRoutes(api, db, config);
  registerSinkMessageRoutes(api, db, config.jwtSecret);
  registerStatsRoutes(api, db, config.inbound, clock, config.dns);
  registerInboundRoutes(api, db, config, clock);
  registerWebhookEndpointRoutes(api, db, config);
  registerAlertRoutes(api, db, config);
  registerAuditRoutes(api, db);
  registerErasureRoutes(api, db, config);
  // Sponsor API (X-Api-Key) before sponsor admin, so /sponsors/offers is not taken for an id.
  registerSponsorApiRoutes(api, db, config);
  registerSponsorAdminRoutes(api, db, config);

  // Routes mounted by other routers under /api, listed so the document covers all of /api.
  api.document({
    method: 'get',
    path: '/workers',
    operationId: 'listWorkers',
    tag: 'orchestrator',
    summary: 'Worker processes run by this node and their state (filter by state, account, part of the address, and ?clientId=)',
    access: 'owner',
    query: workerListQuery,
    response: workerListOut,
  });

  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  api.router.get('/openapi.json', (_req, res) => {
    document ??= buildOpenApiDocument(registry);
    res.json(document);
  });
  return api;
}
