/**
 * Webhook endpoints for the admin API (owner and client_admin write, viewers read, each client
 * only its own): one per client and ESP account, answering the URL to give the provider.
 *   ses:      topicArns, the SNS topics whose messages it accepts (required: the SNS signature
 *             proves a message came from SNS, not from the operator's topic; anyone can
 *             subscribe an endpoint to a topic of their own);
 *   sendgrid: verificationKey, the Event Webhook's public key (base64, as SendGrid shows it);
 *   mailgun:  signingKey, the HTTP webhook signing key.
 * Keys are write-only: stored encrypted with the credential cipher, never answered.
 */
import { z } from 'zod';
import { clientForCreate } from '../auth/client-scope';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ClientScope } from '../auth/client-scope';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { idParams, nonEmptyLine, uuid } from '../http/validation';
import { sendgridPublicKey } from './sendgrid';
import { topicArn } from './sns';
import { deleteEndpoint, endpointActivity, getEndpoint, insertEndpoint, listEndpoints, updateEndpoint, type EndpointActivity, type WebhookEndpointRow } from './webhook-endpoint.repository';

const name = nonEmptyLine(200);
const topicArns = z.array(topicArn).min(1).max(50).describe('SNS topics whose messages this endpoint accepts');
const verificationKey = z
  .string()
  .max(1000)
  .refine((value) => sendgridPublicKey(value) !== undefined, 'must be the Event Webhook verification key as SendGrid shows it (base64 of a P-256 public key)')
  .describe('SendGrid Event Webhook verification key (write-only)');
const signingKey = z
  .string()
  .min(8)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'must be the signing key as Mailgun shows it (printable, no spaces)')
  .describe('Mailgun HTTP webhook signing key (write-only)');

const createBody = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('ses'), name, clientId: uuid.optional(), topicArns }).strict(),
  z.object({ provider: z.literal('sendgrid'), name, clientId: uuid.optional(), verificationKey }).strict(),
  z.object({ provider: z.literal('mailgun'), name, clientId: uuid.optional(), signingKey }).strict(),
]);

/** The provider is repeated in an update so each provider's fields are checked by the schema; it cannot change. */
const updateBody = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('ses'), name: name.optional(), topicArns: topicArns.optional() }).strict(),
  z.object({ provider: z.literal('sendgrid'), name: name.optional(), verificationKey: verificationKey.optional() }).strict(),
  z.object({ provider: z.literal('mailgun'), name: name.optional(), signingKey: signingKey.optional() }).strict(),
]);

const endpointOut = z.object({
  id: z.uuid(),
  clientId: z.uuid(),
  provider: z.enum(['ses', 'sendgrid', 'mailgun']),
  name: z.string(),
  url: z.string().describe('The URL to give the provider'),
  topicArns: z.array(z.string()),
  hasKey: z.boolean().describe('A verification or signing key is stored (SendGrid, Mailgun)'),
  pendingDeliveries: z.number().int().describe('Received and verified, not yet processed'),
  failedDeliveries: z.number().int().describe('Given up after webhooks.maxAttempts; kept with their error'),
  lastReceivedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export function registerWebhookEndpointRoutes(api: ApiRouter, db: Db, config: Config): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getEndpoint(db, scope, id) };
  const cipher = createCredentialCipher(config.credentialKeys);
  const seal = (key: string | undefined) => (key === undefined ? undefined : cipher.encrypt(key.trim()));

  const present = (e: WebhookEndpointRow, activity: EndpointActivity | undefined): z.infer<typeof endpointOut> => ({
    id: e.id,
    clientId: e.client_id,
    provider: e.provider,
    name: e.name,
    url: `${config.baseUrl}/webhooks/${e.provider}/${e.id}`,
    topicArns: e.topic_arns,
    hasKey: e.verification_key_encrypted !== null,
    pendingDeliveries: activity?.pending ?? 0,
    failedDeliveries: activity?.failed ?? 0,
    lastReceivedAt: activity?.lastReceivedAt?.toISOString() ?? null,
    createdAt: e.created_at.toISOString(),
    updatedAt: e.updated_at.toISOString(),
  });
  const presentOne = async (e: WebhookEndpointRow) => present(e, (await endpointActivity(db, [e.id])).get(e.id));

  api.route({
    method: 'get',
    path: '/webhook-endpoints',
    operationId: 'listWebhookEndpoints',
    tag: 'webhooks',
    summary: 'List ESP webhook endpoints (SES through SNS, SendGrid, Mailgun)',
    query: pageQuery,
    response: pagedResponse('endpoints', endpointOut),
    handler: async ({ scope, query }) => {
      const page = await listEndpoints(db, scope, query);
      const activity = await endpointActivity(db, page.rows.map((e) => e.id));
      return paged('endpoints', query, page, (e) => present(e, activity.get(e.id)));
    },
  });

  api.route({
    method: 'post',
    path: '/webhook-endpoints',
    operationId: 'createWebhookEndpoint',
    tag: 'webhooks',
    audit,
    summary: 'Add an ESP webhook endpoint; answers the URL to give the provider',
    body: createBody,
    response: endpointOut,
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      const key = body.provider === 'sendgrid' ? body.verificationKey : body.provider === 'mailgun' ? body.signingKey : undefined;
      const endpoint = await insertEndpoint(db, clientId, body.provider, {
        name: body.name,
        verificationKeyEncrypted: seal(key) ?? null,
        topicArns: body.provider === 'ses' ? [...new Set(body.topicArns)] : [],
      });
      return presentOne(endpoint);
    },
  });

  api.route({
    method: 'get',
    path: '/webhook-endpoints/:id',
    operationId: 'getWebhookEndpoint',
    tag: 'webhooks',
    summary: 'Get an ESP webhook endpoint',
    params: idParams,
    response: endpointOut,
    handler: async ({ scope, params }) => {
      const endpoint = await getEndpoint(db, scope, params.id);
      if (!endpoint) throw new AppError(404, 'not_found', 'Webhook endpoint not found');
      return presentOne(endpoint);
    },
  });

  api.route({
    method: 'patch',
    path: '/webhook-endpoints/:id',
    operationId: 'updateWebhookEndpoint',
    tag: 'webhooks',
    audit,
    summary: 'Rename an ESP webhook endpoint, change its topics or replace its key (the provider cannot change)',
    params: idParams,
    body: updateBody,
    response: endpointOut,
    errors: [409],
    handler: async ({ scope, params, body }) => {
      const endpoint = await getEndpoint(db, scope, params.id);
      if (!endpoint) throw new AppError(404, 'not_found', 'Webhook endpoint not found');
      if (endpoint.provider !== body.provider) {
        throw new AppError(409, 'provider_mismatch', `This endpoint is for ${endpoint.provider}; add a new endpoint for another provider`, { issues: [{ path: 'provider', message: `must be ${endpoint.provider}` }] });
      }
      const key = body.provider === 'sendgrid' ? body.verificationKey : body.provider === 'mailgun' ? body.signingKey : undefined;
      const updated = await updateEndpoint(db, scope, params.id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(key !== undefined ? { verificationKeyEncrypted: seal(key) } : {}),
        ...(body.provider === 'ses' && body.topicArns ? { topicArns: [...new Set(body.topicArns)] } : {}),
      });
      if (!updated) throw new AppError(404, 'not_found', 'Webhook endpoint not found');
      return presentOne(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/webhook-endpoints/:id',
    operationId: 'deleteWebhookEndpoint',
    tag: 'webhooks',
    audit,
    summary: 'Delete an ESP webhook endpoint (its URL answers 404 from then on; deliveries already received are still processed)',
    params: idParams,
    status: 204,
    handler: async ({ scope, params }) => {
      if (!(await deleteEndpoint(db, scope, params.id))) throw new AppError(404, 'not_found', 'Webhook endpoint not found');
    },
  });
}
