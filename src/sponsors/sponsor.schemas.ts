/** zod shapes shared by the sponsor API, the sponsor admin routes and the landing form. */
import { z } from 'zod';
import { emailAddress, singleLine, uuid } from '../http/validation';
import type { LeadRow } from './lead.repository';
import type { OfferRow } from './sponsor.repository';

export const leadFieldName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower-case letters, digits and "_", starting with a letter');

const dataValue = z.union([singleLine(1000), z.number().finite(), z.boolean(), z.null()]);

export const leadBody = z
  .object({
    offerId: uuid,
    email: emailAddress,
    firstName: singleLine(100).optional(),
    lastName: singleLine(100).optional(),
    phone: z.string().max(40).regex(/^[+0-9 ().-]*$/, 'digits, spaces and + ( ) . - only').optional(),
    data: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'keys are 1-64 letters, digits, "_", "." or "-"'), dataValue)
      .refine((value) => Object.keys(value).length <= 50, { message: 'at most 50 fields' })
      .optional(),
  })
  .strict();

export const idempotencyKey = z.string().regex(/^[\x21-\x7e]{1,200}$/, '1-200 visible ASCII characters');

export const leadOut = z.object({
  id: z.uuid(),
  offerId: z.uuid().nullable(),
  email: z.string(),
  data: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

export function presentLead(lead: LeadRow): z.infer<typeof leadOut> {
  return { id: lead.id, offerId: lead.offer_id, email: lead.email, data: lead.data, createdAt: lead.created_at.toISOString() };
}

export const offerOut = z.object({
  id: z.uuid(),
  sponsorId: z.uuid(),
  name: z.string(),
  description: z.string(),
  landingUrl: z.string().nullable(),
  payoutCents: z.number().nullable(),
  leadFields: z.array(z.string()),
  status: z.string(),
  createdAt: z.string(),
});

export function presentOffer(offer: OfferRow): z.infer<typeof offerOut> {
  return {
    id: offer.id,
    sponsorId: offer.sponsor_id,
    name: offer.name,
    description: offer.description,
    landingUrl: offer.landing_url,
    payoutCents: offer.payout_cents,
    leadFields: offer.lead_fields,
    status: offer.status,
    createdAt: offer.created_at.toISOString(),
  };
}

export const webUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');
