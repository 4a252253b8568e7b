/**
 * The sponsor lead API (API key, not JWT):
 *   GET  /api/sponsors/offers   the calling sponsor's active offers
 *   POST /api/sponsors/leads    store a lead (Idempotency-Key header required) and queue its delivery
 * Registered before the sponsor admin routes so `/sponsors/offers` is never read as an id.
 */
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { createLead } from './lead.service';
import { authenticateSponsor, getSponsorCaller, refuseKeyInQuery } from './sponsor-auth.middleware';
import { getOfferOfSponsor, getSponsorById, listOffersOfSponsor } from './sponsor.repository';
import { idempotencyKey, leadBody, leadOut, offerOut, presentLead, presentOffer } from './sponsor.schemas';

export function registerSponsorApiRoutes(api: ApiRouter, db: Db, config: Config): void {
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: config.sponsors.apiRateLimitPerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new AppError(429, 'rate_limited', 'Too many requests; try again later')),
  });
  const sponsorAuth = [limiter, refuseKeyInQuery(), authenticateSponsor(db)];

  api.route({
    method: 'get',
    path: '/sponsors/offers',
    operationId: 'listOwnOffers',
    tag: 'sponsor-api',
    summary: "The calling sponsor's active offers (X-Api-Key)",
    access: 'sponsorKey',
    middleware: sponsorAuth,
    query: pageQuery,
    response: pagedResponse('offers', offerOut),
    errors: [401, 403, 429],
    handler: async ({ req, query }) => {
      const caller = getSponsorCaller(req);
      return paged('offers', query, await listOffersOfSponsor(db, caller.sponsorId, { ...query, activeOnly: true }), presentOffer);
    },
  });

  api.route({
    method: 'post',
    path: '/sponsors/leads',
    operationId: 'createLead',
    tag: 'sponsor-api',
    summary: 'Post a lead (X-Api-Key; idempotent on the Idempotency-Key header)',
    access: 'sponsorKey',
    headers: z.object({ 'Idempotency-Key': idempotencyKey }),
    middleware: sponsorAuth,
    body: leadBody,
    // Leads are small; the general JSON limit is for bulk admin bodies.
    bodyLimitBytes: config.sponsors.leadBodyLimitKb * 1024,
    response: leadOut,
    errors: [401, 403, 404, 409, 413, 422, 429],
    handler: async ({ req, res, headers, body }) => {
      const caller = getSponsorCaller(req);
      const offer = await getOfferOfSponsor(db, caller.sponsorId, body.offerId);
      if (!offer) throw new AppError(404, 'not_found', 'Offer not found', { issues: [{ path: 'offerId', message: 'no such offer for this sponsor' }] });
      if (offer.status !== 'active') throw new AppError(422, 'offer_inactive', 'This offer is not active', { issues: [{ path: 'offerId', message: `offer is ${offer.status}` }] });
      const sponsor = await getSponsorById(db, caller.sponsorId);
      const data: Record<string, unknown> = { ...(body.data ?? {}) };
      if (body.firstName !== undefined) data.firstName = body.firstName;
      if (body.lastName !== undefined) data.lastName = body.lastName;
      if (body.phone !== undefined) data.phone = body.phone;
      const { lead, created } = await createLead(db, {
        clientId: caller.clientId,
        sponsorId: caller.sponsorId,
        offerId: offer.id,
        idempotencyKey: headers['Idempotency-Key'],
        email: body.email,
        data,
        sourceQueueId: null,
        deliver: Boolean(sponsor?.delivery_url),
      });
      res.status(created ? 201 : 200).json(presentLead(lead));
    },
  });
}
