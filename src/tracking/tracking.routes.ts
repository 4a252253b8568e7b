/**
 * The recipient-facing endpoints:
 *   GET  /t/o/<token>.gif  open pixel: always the GIF, whatever the token or the database
 *   GET  /t/c/<token>      click: 302 to the stored link target; a bad token is a 4xx, never a redirect
 *   GET  /u/<token>        unsubscribe page (shows and asks; never unsubscribes by itself)
 *   POST /u/<token>        unsubscribe: the page's confirm button or RFC 8058 one-click
 *                          (`List-Unsubscribe=One-Click`): 200, no redirect, no cookie
 * Opens and clicks go to the batched event writer; unsubscribes are written before answering.
 * The pixel is served by pixel.fast-path.ts, ahead of Express (see there why); trackingPixel()
 * builds it from the same configuration.
 */
import { Router, type Request } from 'express';
import { formBody } from '../http/body-parsers';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { Logger } from '../logger';
import { isSuppressed } from '../suppressions/suppression.repository';
import { createAutomationDetector, normaliseIp } from './automation-detector';
import { createPixelFastPath, type TrustProxy } from './pixel.fast-path';
import type { PublicGuards } from './public-guards';
import type { TrackingEventWriter } from './tracking-event.writer';
import { errorPage, stringParam, unsubscribeConfirmPage, unsubscribedPage } from './tracking-pages';
import { findClickTarget, findRecipientOfMessage } from './tracking.repository';
import { landingSignerFor, trackingSignerFor } from './tracking-signer';
import { unsubscribeByQueueRow } from './unsubscribe.service';

export interface TrackingRoutesDeps {
  db: Db;
  config: Config;
  logger: Logger;
  events: TrackingEventWriter;
  guards: PublicGuards;
}

const MAX_USER_AGENT_CHARS = 512;

/** Postgres text cannot hold NUL, and nobody needs a 10 kB user agent. */
function userAgentOf(req: Request): string | null {
  const agent = req.headers['user-agent'];
  return agent ? agent.replace(/\0/g, '').slice(0, MAX_USER_AGENT_CHARS) : null;
}

function isWebUrl(target: string): boolean {
  try {
    const url = new URL(target);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

export function trackingPixel({ config, logger, events, guards }: Omit<TrackingRoutesDeps, 'db'>, trustProxy: TrustProxy): ReturnType<typeof createPixelFastPath> {
  return createPixelFastPath({
    trustProxy,
    signer: trackingSignerFor(config),
    detector: createAutomationDetector(config.tracking),
    events,
    logger,
    limitPerMinute: config.tracking.publicRateLimitPerMinute,
    securityHeaders: guards.securityHeaders,
  });
}

export function trackingRoutes({ db, config, logger, events, guards }: TrackingRoutesDeps): Router {
  const signer = trackingSignerFor(config);
  const landing = landingSignerFor(config);
  const detector = createAutomationDetector(config.tracking);
  const router = Router();

  router.get('/t/c/:token', guards.securityHeaders, guards.rateLimit, async (req, res) => {
    const payload = signer.verify(stringParam(req.params.token), 'click');
    if (!payload || payload.linkId === undefined) throw new AppError(400, 'invalid_token', 'This link is not valid');
    const target = await findClickTarget(db, payload.queueId, payload.linkId);
    if (!target || !isWebUrl(target)) throw new AppError(404, 'link_not_found', 'This link does not exist');
    const ip = normaliseIp(req.ip);
    const userAgent = userAgentOf(req);
    events.recordClick({
      queueId: payload.queueId,
      linkId: payload.linkId,
      ip,
      userAgent,
      automatedReason: detector.classify(req.method, ip, userAgent),
      occurredAt: new Date(),
    });
    const offerId = landing.parseOfferLink(target);
    res.set('Cache-Control', 'no-store');
    res.redirect(302, offerId ? landing.landingUrl(payload.queueId, offerId) : target);
  });

  router.get('/u/:token', guards.securityHeaders, guards.rateLimit, async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const payload = signer.verify(stringParam(req.params.token), 'unsubscribe');
    if (!payload) {
      res.status(400).type('html').send(errorPage('Link not valid', 'This unsubscribe link is not valid. Please use the link from the email.'));
      return;
    }
    const recipient = await findRecipientOfMessage(db, payload.queueId);
    if (!recipient) {
      res.status(404).type('html').send(errorPage('Not found', 'This message no longer exists.'));
      return;
    }
    const suppressed = await isSuppressed(db, recipient.clientId, recipient.email);
    res.type('html').send(unsubscribeConfirmPage(recipient.email, recipient.clientName, suppressed));
  });

  router.post('/u/:token', guards.securityHeaders, guards.rateLimit, ...formBody(4 * 1024), async (req, res) => {
    const payload = signer.verify(stringParam(req.params.token), 'unsubscribe');
    if (!payload) throw new AppError(400, 'invalid_token', 'This unsubscribe link is not valid');
    const body = (req.body ?? {}) as Record<string, unknown>;
    // Anything but the page's own confirm button is treated as one-click (RFC 8058 allows
    // multipart bodies too, which are not parsed here; the signed URL is the authority).
    const source = body.confirm === 'yes' ? 'unsubscribe_page' : 'one_click';
    const result = await unsubscribeByQueueRow(db, payload.queueId, source);
    if (!result) throw new AppError(404, 'not_found', 'This message no longer exists');
    logger.info('unsubscribed', { queueId: payload.queueId, clientId: result.recipient.clientId, source, cancelledQueueRows: result.cancelledQueueRows });
    res.set('Cache-Control', 'no-store');
    res.status(200).type('html').send(unsubscribedPage(result.recipient.email, result.recipient.clientName));
  });

  return router;
}
