/**
 * Sponsors for client admins (JWT, scoped to the caller's client):
 *   POST/GET /api/sponsors, GET /api/sponsors/:id
 *   POST /api/sponsors/:id/keys (the key is in this answer only), GET …/keys, DELETE …/keys/:keyId
 *   POST/GET /api/sponsors/:id/offers
 * The delivery signing secret is returned once, at creation; it is stored encrypted.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { clientForCreate, type ClientScope } from '../auth/client-scope';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { idParams, nonEmptyLine, uuid } from '../http/validation';
import { generateApiKey } from './api-key';
import { deliveryHostPolicy, refusedDeliveryHost } from './delivery-address';
import {
  getSponsor,
  insertApiKey,
  insertOffer,
  insertSponsor,
  listApiKeys,
  listOffersOfSponsor,
  listSponsors,
  revokeApiKey,
  type ApiKeyRow,
  type SponsorRow,
} from './sponsor.repository';
import { leadFieldName, offerOut, presentOffer, webUrl } from './sponsor.schemas';

const sponsorOut = z.object({
  id: z.uuid(),
  clientId: z.uuid(),
  name: z.string(),
  deliveryUrl: z.string().nullable(),
  status: z.string(),
  createdAt: z.string(),
});

const presentSponsor = (s: SponsorRow): z.infer<typeof sponsorOut> => ({
  id: s.id,
  clientId: s.client_id,
  name: s.name,
  deliveryUrl: s.delivery_url,
  status: s.status,
  createdAt: s.created_at.toISOString(),
});

const keyOut = z.object({ id: z.uuid(), prefix: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() });

const presentKey = (k: ApiKeyRow): z.infer<typeof keyOut> => ({
  id: k.id,
  prefix: k.key_prefix,
  createdAt: k.created_at.toISOString(),
  lastUsedAt: k.last_used_at?.toISOString() ?? null,
  revokedAt: k.revoked_at?.toISOString() ?? null,
});

const sponsorKeyParams = z.object({ id: uuid, keyId: uuid });

export function registerSponsorAdminRoutes(api: ApiRouter, db: Db, config: Config): void {
  const cipher = createCredentialCipher(config.credentialKeys);
  const hostPolicy = deliveryHostPolicy(config.sponsors.deliveryHostAllowList);

  /** Checked again at every delivery, on the address connected to (delivery-address.ts). */
  async function refuseNonPublicDeliveryUrl(url: string): Promise<void> {
    const refused = await refusedDeliveryHost(new URL(url), hostPolicy);
    if (refused) {
      throw new AppError(400, 'validation_failed', 'Invalid body', {
        issues: [{ path: 'deliveryUrl', message: `must reach a public address: ${refused} (the owner may allow a host in sponsors.deliveryHostAllowList)` }],
      });
    }
  }

  async function sponsorInScope(scope: ClientScope, id: string): Promise<SponsorRow> {
    const sponsor = await getSponsor(db, scope, id);
    if (!sponsor) throw new AppError(404, 'not_found', 'Sponsor not found');
    return sponsor;
  }

  api.route({
    method: 'post',
    path: '/sponsors',
    operationId: 'createSponsor',
    tag: 'sponsors',
    summary: 'Create a sponsor (answers its delivery signing secret, once)',
    body: z.object({ clientId: uuid.optional(), name: nonEmptyLine(200), deliveryUrl: webUrl.nullable().default(null) }).strict(),
    response: sponsorOut.extend({ deliverySecret: z.string() }),
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      if (body.deliveryUrl) await refuseNonPublicDeliveryUrl(body.deliveryUrl);
      const deliverySecret = `whsec_${crypto.randomBytes(32).toString('base64url')}`;
      const sponsor = await insertSponsor(db, { clientId, name: body.name, deliveryUrl: body.deliveryUrl, deliverySecretEncrypted: cipher.encrypt(deliverySecret) });
      return { ...presentSponsor(sponsor), deliverySecret };
    },
  });

  api.route({
    method: 'get',
    path: '/sponsors',
    operationId: 'listSponsors',
    tag: 'sponsors',
    summary: 'List sponsors',
    query: pageQuery,
    response: pagedResponse('sponsors', sponsorOut),
    handler: async ({ scope, query }) => paged('sponsors', query, await listSponsors(db, scope, query), presentSponsor),
  });

  api.route({
    method: 'get',
    path: '/sponsors/:id',
    operationId: 'getSponsor',
    tag: 'sponsors',
    summary: 'Get a sponsor',
    params: idParams,
    response: sponsorOut,
    handler: async ({ scope, params }) => presentSponsor(await sponsorInScope(scope, params.id)),
  });

  api.route({
    method: 'post',
    path: '/sponsors/:id/keys',
    operationId: 'createSponsorKey',
    tag: 'sponsors',
    summary: 'Issue an API key (the key is shown in this answer only)',
    params: idParams,
    response: keyOut.extend({ key: z.string() }),
    handler: async ({ scope, params }) => {
      const sponsor = await sponsorInScope(scope, params.id);
      const generated = generateApiKey();
      const row = await insertApiKey(db, sponsor.id, generated.prefix, generated.hash);
      return { ...presentKey(row), key: generated.key };
    },
  });

  api.route({
    method: 'get',
    path: '/sponsors/:id/keys',
    operationId: 'listSponsorKeys',
    tag: 'sponsors',
    summary: "List a sponsor's API keys (never the keys themselves)",
    params: idParams,
    query: pageQuery,
    response: pagedResponse('keys', keyOut),
    handler: async ({ scope, params, query }) => {
      const sponsor = await sponsorInScope(scope, params.id);
      return paged('keys', query, await listApiKeys(db, sponsor.id, query), presentKey);
    },
  });

  api.route({
    method: 'delete',
    path: '/sponsors/:id/keys/:keyId',
    operationId: 'revokeSponsorKey',
    tag: 'sponsors',
    summary: 'Revoke an API key',
    params: sponsorKeyParams,
    status: 204,
    handler: async ({ scope, params }) => {
      const sponsor = await sponsorInScope(scope, params.id);
      if (!(await revokeApiKey(db, sponsor.id, params.keyId))) throw new AppError(404, 'not_found', 'API key not found or already revoked');
    },
  });

  api.route({
    method: 'post',
    path: '/sponsors/:id/offers',
    operationId: 'createSponsorOffer',
    tag: 'sponsors',
    summary: 'Create an offer',
    params: idParams,
    body: z
      .object({
        name: nonEmptyLine(200),
        description: z.string().max(5000).default(''),
        landingUrl: webUrl.nullable().default(null),
        payoutCents: z.number().int().min(0).max(100_000_000).nullable().default(null),
        leadFields: z
          .array(leadFieldName.refine((name) => name !== 'email', { message: 'email is always asked' }))
          .max(20)
          .refine((names) => new Set(names).size === names.length, { message: 'field names must be unique' })
          .default([]),
      })
      .strict(),
    response: offerOut,
    handler: async ({ scope, params, body }) => {
      const sponsor = await sponsorInScope(scope, params.id);
      return presentOffer(await insertOffer(db, { clientId: sponsor.client_id, sponsorId: sponsor.id, ...body }));
    },
  });

  api.route({
    method: 'get',
    path: '/sponsors/:id/offers',
    operationId: 'listSponsorOffers',
    tag: 'sponsors',
    summary: "List a sponsor's offers",
    params: idParams,
    query: pageQuery,
    response: pagedResponse('offers', offerOut),
    handler: async ({ scope, params, query }) => {
      const sponsor = await sponsorInScope(scope, params.id);
      return paged('offers', query, await listOffersOfSponsor(db, sponsor.id, { ...query, activeOnly: false }), presentOffer);
    },
  });
}
