/**
 * The offer landing page a tracked click leads to (see landing-token.ts):
 *   GET  /l/<token>   a small form for the offer, prefilled with the recipient's address
 *   POST /l/<token>   stores the lead (source_queue_id = the message clicked) and queues its delivery
 * One lead per message and offer: submitting again shows the same thank-you page.
 * `/l/offer/<id>` (an offer link opened without click tracking) has no recipient to credit
 * and is not a form; it answers 404.
 */
import { Router, type Response } from 'express';
import { formBody } from '../http/body-parsers';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import { normalizeEmail, hasControlChars } from '../contacts/email-address';
import type { PublicGuards } from '../tracking/public-guards';
import { errorPage, escapeHtml, page, stringParam } from '../tracking/tracking-pages';
import { findRecipientOfMessage, type RecipientOfMessage } from '../tracking/tracking.repository';
import { landingSignerFor } from '../tracking/tracking-signer';
import { createLead } from './lead.service';
import { getOffer, getSponsorById, type OfferRow } from './sponsor.repository';

const MAX_FIELD_CHARS = 200;

function label(field: string): string {
  const words = field.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formPage(offer: OfferRow, email: string, values: Record<string, string>, problem?: string): string {
  const inputs = offer.lead_fields
    .map((f) => `<label for="f_${f}">${escapeHtml(label(f))}</label><input id="f_${f}" name="${f}" maxlength="${MAX_FIELD_CHARS}" value="${escapeHtml(values[f] ?? '')}">`)
    .join('\n');
  return page(
    offer.name,
    `<h1>${escapeHtml(offer.name)}</h1>
<p>${escapeHtml(offer.description)}</p>
${problem ? `<p role="alert"><strong>${escapeHtml(problem)}</strong></p>` : ''}
<form method="post" action="">
<label for="f_email">Email</label><input id="f_email" name="email" type="email" maxlength="254" value="${escapeHtml(email)}">
${inputs}
<p><button type="submit">Send</button></p>
</form>`,
  );
}

export function landingRoutes(db: Db, config: Config, guards: PublicGuards): Router {
  const signer = landingSignerFor(config);
  const router = Router();

  function sendPage(res: Response, status: number, html: string): void {
    res.status(status).set('Cache-Control', 'no-store').type('html').send(html);
  }

  /** The recipient and offer of a token, or an error page already sent. */
  async function resolve(token: string, res: Response): Promise<{ recipient: RecipientOfMessage; offer: OfferRow; queueId: number } | undefined> {
    const payload = signer.verify(token);
    if (!payload) {
      sendPage(res, 400, errorPage('Link not valid', 'This link is not valid. Please use the link from the email.'));
      return undefined;
    }
    const [recipient, offer] = await Promise.all([findRecipientOfMessage(db, payload.queueId), getOffer(db, payload.offerId)]);
    if (!recipient || !offer || offer.client_id !== recipient.clientId) {
      sendPage(res, 404, errorPage('Not found', 'This offer does not exist.'));
      return undefined;
    }
    if (offer.status !== 'active') {
      sendPage(res, 410, errorPage('Offer ended', 'This offer is no longer available.'));
      return undefined;
    }
    return { recipient, offer, queueId: payload.queueId };
  }

  router.get('/l/offer/:offerId', guards.securityHeaders, guards.rateLimit, (_req, res) => {
    sendPage(res, 404, errorPage('Not found', 'Please open this offer from the link in your email.'));
  });

  router.get('/l/:token', guards.securityHeaders, guards.rateLimit, async (req, res) => {
    const found = await resolve(stringParam(req.params.token), res);
    if (found) sendPage(res, 200, formPage(found.offer, found.recipient.email, {}));
  });

  router.post('/l/:token', guards.securityHeaders, guards.rateLimit, ...formBody(8 * 1024), async (req, res) => {
    const found = await resolve(stringParam(req.params.token), res);
    if (!found) return;
    const { recipient, offer, queueId } = found;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values: Record<string, string> = {};
    for (const field of offer.lead_fields) {
      const value = body[field];
      if (value !== undefined && typeof value !== 'string') throw new AppError(400, 'validation_failed', 'Invalid form', { issues: [{ path: field, message: 'must be text' }] });
      values[field] = (value ?? '').trim();
    }
    const email = typeof body.email === 'string' ? normalizeEmail(body.email) : undefined;
    const badField = offer.lead_fields.find((f) => (values[f] ?? '').length > MAX_FIELD_CHARS || hasControlChars(values[f] ?? ''));
    if (!email || badField) {
      sendPage(res, 400, formPage(offer, typeof body.email === 'string' ? body.email : recipient.email, values, !email ? 'Please enter a valid email address.' : `${label(badField ?? '')} is too long.`));
      return;
    }
    const sponsor = await getSponsorById(db, offer.sponsor_id);
    try {
      await createLead(db, {
        clientId: offer.client_id,
        sponsorId: offer.sponsor_id,
        offerId: offer.id,
        idempotencyKey: `landing:${offer.id}:${queueId}`,
        email,
        data: values,
        sourceQueueId: queueId,
        deliver: Boolean(sponsor?.delivery_url),
      });
    } catch (error) {
      // A second, different submission for the same message and offer: the first one stands.
      if (!(error instanceof AppError && error.status === 409)) throw error;
    }
    sendPage(res, 200, page('Thank you', `<h1>Thank you</h1><p>Your details were sent to ${escapeHtml(offer.name)}.</p>`));
  });

  return router;
}
