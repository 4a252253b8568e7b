/** Clients (tenants). The owner creates and deletes them; a client's admin edits its own. */
import { z } from 'zod';
import { hasControlChars } from '../contacts/email-address';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ClientScope } from '../auth/client-scope';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { isUniqueViolation } from '../http/db-errors';
import { idParams, nonEmptyLine } from '../http/validation';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { deleteClient, getClient, insertClient, listClients, updateClient, type ClientRow } from './client.repository';

const hostname = z
  .string()
  .max(253)
  .regex(/^([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/, 'must be a host name such as track.example.com')
  .transform((value) => value.toLowerCase());

const clientFields = z.object({
  name: nonEmptyLine(200),
  // Printed in every message footer; multi-line is fine, control characters are not.
  postalAddress: z
    .string()
    .max(500)
    .refine((value) => !hasControlChars(value.replace(/\r?\n/g, ' ')), { message: 'must not contain control characters other than line breaks' }),
  trackingDomain: hostname.nullable(),
  dailyLimit: z.number().int().positive().max(10_000_000).nullable(),
});

const clientOut = z.object({
  id: z.uuid(),
  name: z.string(),
  postalAddress: z.string(),
  trackingDomain: z.string().nullable(),
  dailyLimit: z.number().nullable(),
  createdAt: z.string(),
});

function present(client: ClientRow): z.infer<typeof clientOut> {
  return {
    id: client.id,
    name: client.name,
    postalAddress: client.postal_address,
    trackingDomain: client.tracking_domain,
    dailyLimit: client.daily_limit,
    createdAt: client.created_at.toISOString(),
  };
}

const conflict = () => new AppError(409, 'conflict', 'A client with this name exists', { issues: [{ path: 'name', message: 'already taken' }] });

export function registerClientRoutes(api: ApiRouter, db: Db): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getClient(db, scope, id), targetIsClient: true };
  api.route({
    method: 'get',
    path: '/clients',
    operationId: 'listClients',
    tag: 'clients',
    summary: 'List clients (a client user sees their own)',
    query: pageQuery,
    response: pagedResponse('clients', clientOut),
    handler: async ({ scope, query }) => paged('clients', query, await listClients(db, scope, query), present),
  });
  api.route({
    method: 'post',
    path: '/clients',
    operationId: 'createClient',
    tag: 'clients',
    audit,
    summary: 'Create a client',
    access: 'owner',
    body: clientFields.partial().required({ name: true }).strict(),
    response: clientOut,
    errors: [409],
    handler: async ({ body }) => {
      try {
        return present(await insertClient(db, body));
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict();
        throw error;
      }
    },
  });
  api.route({
    method: 'get',
    path: '/clients/:id',
    operationId: 'getClient',
    tag: 'clients',
    summary: 'Get a client',
    params: idParams,
    response: clientOut,
    handler: async ({ scope, params }) => {
      const client = await getClient(db, scope, params.id);
      if (!client) throw new AppError(404, 'not_found', 'Client not found');
      return present(client);
    },
  });
  api.route({
    method: 'patch',
    path: '/clients/:id',
    operationId: 'updateClient',
    tag: 'clients',
    audit,
    summary: 'Update a client',
    params: idParams,
    body: clientFields.partial().strict(),
    response: clientOut,
    errors: [409],
    handler: async ({ scope, params, body }) => {
      try {
        const client = await updateClient(db, scope, params.id, body);
        if (!client) throw new AppError(404, 'not_found', 'Client not found');
        return present(client);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict();
        throw error;
      }
    },
  });
  api.route({
    method: 'delete',
    path: '/clients/:id',
    operationId: 'deleteClient',
    tag: 'clients',
    audit,
    summary: 'Delete a client and everything it owns',
    access: 'owner',
    params: idParams,
    status: 204,
    handler: async ({ params }) => {
      if (!(await deleteClient(db, params.id))) throw new AppError(404, 'not_found', 'Client not found');
    },
  });
}
