/**
 * The OpenAPI document for /api, generated from the same zod schemas the routes validate
 * with: every route is declared once through ApiRouter.route(), which both mounts it and
 * registers it here, so the document cannot drift from the routes.
 */
import { extendZodWithOpenApi, OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

/** Every error response of the API (error-middleware.ts), one component every operation refers to. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'Stable machine-readable code, e.g. validation_failed, not_found' }),
      message: z.string(),
      details: z.unknown().openapi({ description: 'null, or more about the error: for 400s, issues: [{path, message}]' }),
    }),
  })
  .openapi('Error');

export const BEARER_SCHEME = 'bearerAuth';
export const SPONSOR_KEY_SCHEME = 'sponsorApiKey';

/** The owner's scope selector, accepted by every bearer route (auth.middleware.ts). */
export const clientScopeParameter = z
  .uuid()
  .optional()
  .openapi({ param: { name: 'clientId', in: 'query', description: "Owner only: act within this client's scope; ignored for other roles" } });

export function createOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Access token from POST /api/auth/login or /api/auth/refresh',
  });
  registry.registerComponent('securitySchemes', SPONSOR_KEY_SCHEME, {
    type: 'apiKey',
    in: 'header',
    name: 'X-Api-Key',
    description: 'A sponsor API key (sk_…) issued by POST /api/sponsors/{id}/keys',
  });
  return registry;
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  auth: 'Log in, refresh and end sessions; the signed-in user',
  clients: 'Clients (tenants): owner only',
  users: 'Users and their roles',
  domains: 'Sender domains and their DKIM keys',
  accounts: 'Sender mailboxes (SMTP, Gmail API), limits and warm-up',
  campaigns: 'Campaigns, sequence steps, sender pool, lifecycle and queue rows',
  contacts: 'Contacts and CSV imports',
  suppressions: 'The suppression list',
  stats: 'Statistics per campaign, step, account and day',
  sink: "The dev SMTP sink's received mail",
  sponsors: 'Sponsors, their API keys and offers (admin side)',
  'sponsor-api': 'The sponsor lead API, authenticated by X-Api-Key',
  orchestrator: 'Worker processes of this node',
  inbound: 'Inbound mail and ESP events: bounces, complaints, replies, auto-replies, their effects and reclassification',
  webhooks: 'ESP event webhook endpoints (SES through SNS, SendGrid, Mailgun) per client; their keys are write-only',
  audit: 'The audit trail: every change made through the API (who, what, before/after for settings, when, from where) and the automatic ones',
  erasure: 'Erasure of a person (GDPR/CCPA): their address removed from every table, only a keyed hash kept on the suppression list',
  alerts: "Alerts the system raised (one open per client, code and entity; acknowledged, resolved when the condition clears) and the channels that carry them to people: Telegram, Slack, signed webhook, e-mail; the owner's channels get every alert, a client's its own",
};

export function buildOpenApiDocument(registry: OpenAPIRegistry): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  // Every tag an operation uses is declared at the top, in the order first used.
  const used = registry.definitions.flatMap((definition) => (definition.type === 'route' ? (definition.route.tags ?? []) : []));
  const tags = [...new Set(used)].map((name) => ({ name, ...(TAG_DESCRIPTIONS[name] ? { description: TAG_DESCRIPTIONS[name] } : {}) }));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Outreach platform admin API',
      version: '1',
      description: 'Errors are always {error: {code, message, details}}. Admin routes take a bearer access token; the sponsor lead API an X-Api-Key.',
    },
    servers: [{ url: '/' }],
    tags,
  });
}

/** Express path `/campaigns/:id/steps/:stepNumber` → OpenAPI `/campaigns/{id}/steps/{stepNumber}`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
