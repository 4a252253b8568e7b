/**
 * The public ESP webhook endpoints, outside /api and its bearer tokens:
 *   POST /webhooks/ses/:endpointId        Amazon SES through SNS (any content type; SNS says text/plain)
 *   POST /webhooks/sendgrid/:endpointId   SendGrid Event Webhook
 *   POST /webhooks/mailgun/:endpointId    Mailgun webhooks (JSON)
 *
 * The endpoint id (a webhook endpoint of one client, managed under /api/webhook-endpoints)
 * says whose events these are and which key verifies them. Each request is verified over the
 * exact bytes received and inside the timestamp window, its body read to be sure it holds what
 * the provider sends, then stored in the outbox and answered 200 at once: processing (matching,
 * suppressions, pausing mailboxes) runs in the loop (webhook-processor.ts), because ESPs time a
 * delivery out after a few seconds and then send it again, so slow work on the request would
 * turn into duplicate deliveries and, at worst, a provider that disables the endpoint.
 *
 * Answers: 200 {received, duplicate}; 400 a body that is not what the provider sends; 401 no
 * or a bad signature, a signing certificate not on the topic's SNS host, a timestamp outside
 * the window; 403 a topic the endpoint does not accept, a replayed Mailgun token; 404 no such
 * endpoint for this provider; 413 a body over webhooks.bodyLimitKb; 502 the SNS certificate
 * could not be fetched (SNS tries again); 503 the database is unavailable.
 */
import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import type { WebhookEndpointRow } from './webhook-endpoint.repository';
import type { WebhookProvider } from '../db/database';
import type { Logger } from '../logger';
import { AppError } from '../http/app-error';
import { rawBody } from '../http/body-parsers';
import { refuseUnstorableText } from '../http/storable-text';
import { fieldIssues } from '../http/validation';
import { mailgunSignature, verifyMailgunSignature } from './mailgun';
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER, sendgridPublicKey, verifySendgridSignature } from './sendgrid';
import { signingCertUrl, verifySignature, type SnsClient } from './sns';
import { findEndpoint } from './webhook-endpoint.repository';
import { storeDelivery } from './webhook-delivery.repository';
import { deliveryContents, parseJson, snsMessageOf } from './webhook-events';

export const WEBHOOK_PROVIDERS = ['ses', 'sendgrid', 'mailgun'] as const satisfies readonly WebhookProvider[];

export interface WebhookRouteDeps {
  db: Db;
  config: Config;
  logger: Logger;
  sns: SnsClient;
  now?: () => Date;
}

const endpointParams = z.object({ provider: z.enum(WEBHOOK_PROVIDERS), endpointId: z.uuid() });

interface Verified {
  token?: { value: string; expiresAt: Date };
}

const unauthorized = (code: string, message: string) => new AppError(401, code, message);

/** A body the provider would not send: 400 naming what is wrong. */
function malformed(provider: WebhookProvider, error: unknown): AppError {
  if (error instanceof z.ZodError) return new AppError(400, 'invalid_body', `The body is not what ${provider} sends`, { issues: fieldIssues(error) });
  return new AppError(400, 'invalid_body', `The body is not what ${provider} sends: ${(error as Error).message}`);
}

export function webhookRoutes(deps: WebhookRouteDeps): Router {
  const { db, config, logger, sns } = deps;
  const now = deps.now ?? (() => new Date());
  const toleranceMs = config.webhooks.timestampToleranceSeconds * 1000;
  const cipher = createCredentialCipher(config.credentialKeys);
  const router = Router();

  const inWindow = (at: number) => Number.isFinite(at) && Math.abs(now().getTime() - at) <= toleranceMs;

  /** The events must be readable now, so the loop never meets a body it cannot process. */
  function readable(provider: WebhookProvider, raw: Buffer): void {
    let contents;
    try {
      contents = deliveryContents(provider, raw);
    } catch (error) {
      throw malformed(provider, error);
    }
    // Text Postgres refuses (NUL, lone surrogates) would fail the loop forever: refused here.
    refuseUnstorableText(contents.events, 'body');
  }

  async function verifySes(endpoint: WebhookEndpointRow, raw: Buffer): Promise<Verified> {
    let message;
    try {
      message = snsMessageOf(raw);
    } catch (error) {
      throw malformed('ses', error);
    }
    if (!endpoint.topic_arns.includes(message.TopicArn)) throw new AppError(403, 'topic_not_allowed', 'This endpoint does not accept messages of this SNS topic', { topicArn: message.TopicArn });
    const certUrl = signingCertUrl(message);
    if (!certUrl) throw unauthorized('invalid_signing_certificate', 'The SigningCertURL is not an https .pem URL on the topic’s SNS host (sns.<region>.amazonaws.com)');
    if (!inWindow(Date.parse(message.Timestamp))) throw unauthorized('stale_timestamp', 'The message Timestamp is outside the accepted window');
    let key;
    try {
      key = await sns.signingKey(certUrl);
    } catch (error) {
      logger.warn('webhook SNS certificate unavailable', { url: certUrl.href, error: (error as Error).message });
      throw new AppError(502, 'certificate_unavailable', 'The SNS signing certificate could not be fetched; try again');
    }
    if (!verifySignature(message, key)) throw unauthorized('invalid_signature', 'The SNS signature does not verify');
    readable('ses', raw);
    return {};
  }

  function verifySendgrid(endpoint: WebhookEndpointRow, req: Request, raw: Buffer): Verified {
    const signature = req.get(SENDGRID_SIGNATURE_HEADER);
    const timestamp = req.get(SENDGRID_TIMESTAMP_HEADER);
    if (!signature || !timestamp) throw unauthorized('missing_signature', `The ${SENDGRID_SIGNATURE_HEADER} and ${SENDGRID_TIMESTAMP_HEADER} headers are required`);
    if (!/^\d{1,12}$/.test(timestamp) || !inWindow(Number(timestamp) * 1000)) throw unauthorized('stale_timestamp', 'The timestamp is outside the accepted window');
    const key = endpoint.verification_key_encrypted ? sendgridPublicKey(cipher.decrypt(endpoint.verification_key_encrypted)) : undefined;
    if (!key || !verifySendgridSignature(key, timestamp, raw, signature)) throw unauthorized('invalid_signature', 'The SendGrid signature does not verify');
    readable('sendgrid', raw);
    return {};
  }

  function verifyMailgun(endpoint: WebhookEndpointRow, raw: Buffer): Verified {
    let json;
    try {
      json = parseJson(raw);
    } catch (error) {
      throw malformed('mailgun', error);
    }
    const signed = z.object({ signature: mailgunSignature }).safeParse(json);
    if (!signed.success) throw unauthorized('missing_signature', 'The body has no valid signature object (timestamp, token, signature)');
    const { signature } = signed.data;
    const signingKey = endpoint.verification_key_encrypted ? cipher.decrypt(endpoint.verification_key_encrypted) : undefined;
    if (!signingKey || !verifyMailgunSignature(signingKey, signature)) throw unauthorized('invalid_signature', 'The Mailgun signature does not verify');
    const signedAt = Number(signature.timestamp) * 1000;
    if (!inWindow(signedAt)) throw unauthorized('stale_timestamp', 'The timestamp is outside the accepted window');
    readable('mailgun', raw);
    // Kept until its timestamp leaves the window: after that the window refuses it anyway.
    return { token: { value: signature.token, expiresAt: new Date(signedAt + toleranceMs + 60_000) } };
  }

  /** The endpoint before the body: nobody posting to an unknown endpoint gets a body read. */
  const findTarget: RequestHandler = async (req, res, next) => {
    const params = endpointParams.safeParse(req.params);
    const endpoint = params.success ? await findEndpoint(db, params.data.provider, params.data.endpointId) : undefined;
    if (!endpoint) throw new AppError(404, 'not_found', 'No such webhook endpoint');
    res.locals.endpoint = endpoint;
    next();
  };

  router.post('/webhooks/:provider/:endpointId', findTarget, ...rawBody(config.webhooks.bodyLimitKb * 1024), async (req, res) => {
    const endpoint = res.locals.endpoint as WebhookEndpointRow;
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const log = { provider: endpoint.provider, endpointId: endpoint.id, clientId: endpoint.client_id, bytes: raw.length };
    try {
      const verified =
        endpoint.provider === 'ses' ? await verifySes(endpoint, raw) : endpoint.provider === 'sendgrid' ? verifySendgrid(endpoint, req, raw) : verifyMailgun(endpoint, raw);
      const outcome = await storeDelivery(db, { clientId: endpoint.client_id, endpointId: endpoint.id, provider: endpoint.provider, body: raw, ...verified });
      if (outcome === 'replayed') throw new AppError(403, 'replayed_token', 'This token was already used; a webhook is accepted once');
      logger.info('webhook received', { ...log, outcome });
      res.status(200).json({ received: true, duplicate: outcome === 'duplicate' });
    } catch (error) {
      // One message per refusal, its reason a stable code: what a log-based metric counts.
      if (error instanceof AppError) logger.warn('webhook refused', { ...log, status: error.status, code: error.code });
      throw error;
    }
  });
  return router;
}
