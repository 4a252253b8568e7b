/**
 * Users. The owner manages everyone; a client admin manages the users of their own client
 * and can only hand out client roles; viewers read.
 */
import { z } from 'zod';
import { clientForCreate } from '../auth/client-scope';
import { hashPassword } from '../auth/password';
import { newPasswordSchema } from '../auth/auth.routes';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ClientScope } from '../auth/client-scope';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { isUniqueViolation } from '../http/db-errors';
import { emailAddress, idParams } from '../http/validation';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { deleteUser, getUser, insertUser, listUsers, updateUser, type PublicUser } from './user.repository';

const roleSchema = z.enum(['owner', 'client_admin', 'client_viewer']);
const clientRole = z.enum(['client_admin', 'client_viewer']);

const userOut = z.object({
  id: z.uuid(),
  clientId: z.uuid().nullable(),
  email: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
});

const createBody = z
  .object({ email: emailAddress, password: newPasswordSchema, role: roleSchema, clientId: z.uuid().optional() })
  .strict();
const updateBody = z.object({ role: clientRole.optional(), disabled: z.boolean().optional() }).strict();

export function presentUser(user: PublicUser): z.infer<typeof userOut> {
  return {
    id: user.id,
    clientId: user.client_id,
    email: user.email,
    role: user.role,
    disabled: user.disabled_at !== null,
    lastLoginAt: user.last_login_at?.toISOString() ?? null,
    createdAt: user.created_at.toISOString(),
  };
}

export function registerUserRoutes(api: ApiRouter, db: Db): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getUser(db, scope, id) };
  api.route({
    method: 'get',
    path: '/users',
    operationId: 'listUsers',
    tag: 'users',
    summary: 'List users',
    query: pageQuery,
    response: pagedResponse('users', userOut),
    handler: async ({ scope, query }) => paged('users', query, await listUsers(db, scope, query), presentUser),
  });

  api.route({
    method: 'post',
    path: '/users',
    operationId: 'createUser',
    tag: 'users',
    audit,
    summary: 'Create a user (the owner passes clientId for client roles)',
    body: createBody,
    response: userOut,
    errors: [409],
    handler: async ({ scope, auth, body }) => {
      if (body.role === 'owner' && auth.role !== 'owner') throw new AppError(403, 'forbidden', 'Only the owner may create owners');
      let clientId: string | null = null;
      if (body.role !== 'owner') clientId = await clientForCreate(db, scope, body.clientId);
      else if (body.clientId) {
        throw new AppError(400, 'validation_failed', 'An owner belongs to no client', { issues: [{ path: 'clientId', message: 'must be absent for the owner role' }] });
      }
      try {
        return presentUser(await insertUser(db, { email: body.email, passwordHash: await hashPassword(body.password), role: body.role, clientId }));
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError(409, 'conflict', 'A user with this email exists', { issues: [{ path: 'email', message: 'already taken' }] });
        throw error;
      }
    },
  });

  api.route({
    method: 'get',
    path: '/users/:id',
    operationId: 'getUser',
    tag: 'users',
    summary: 'Get a user',
    params: idParams,
    response: userOut,
    handler: async ({ scope, params }) => {
      const user = await getUser(db, scope, params.id);
      if (!user) throw new AppError(404, 'not_found', 'User not found');
      return presentUser(user);
    },
  });

  api.route({
    method: 'patch',
    path: '/users/:id',
    operationId: 'updateUser',
    tag: 'users',
    audit,
    summary: 'Change a client user’s role or disable them (their sessions end)',
    params: idParams,
    body: updateBody,
    response: userOut,
    errors: [409],
    handler: async ({ scope, auth, params, body }) => {
      const existing = await getUser(db, scope, params.id);
      if (!existing) throw new AppError(404, 'not_found', 'User not found');
      if (existing.id === auth.userId) throw new AppError(409, 'conflict', 'You cannot change your own role or disable yourself');
      if (existing.role === 'owner' && body.role) throw new AppError(409, 'conflict', 'The owner role cannot be changed');
      const updated = await updateUser(db, scope, params.id, body);
      if (!updated) throw new AppError(404, 'not_found', 'User not found');
      return presentUser(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/users/:id',
    operationId: 'deleteUser',
    tag: 'users',
    audit,
    summary: 'Delete a user',
    params: idParams,
    status: 204,
    errors: [409],
    handler: async ({ scope, auth, params }) => {
      if (params.id === auth.userId) {
        if (!(await getUser(db, scope, params.id))) throw new AppError(404, 'not_found', 'User not found');
        throw new AppError(409, 'conflict', 'You cannot delete yourself');
      }
      if (!(await deleteUser(db, scope, params.id))) throw new AppError(404, 'not_found', 'User not found');
    },
  });
}
