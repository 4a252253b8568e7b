/**
 * Express side of auth, shared by every authenticated router (admin API, sponsor admin):
 *   authenticate(auth)  reads `Authorization: Bearer <jwt>`, 401 otherwise
 *   requireAccess(lvl)  'read' any signed-in role; 'write' not client_viewer; 'owner' only the owner
 *   getAuth / getScope  the caller and their ClientScope inside handlers
 * Owner requests may narrow their scope with `?clientId=<uuid>`.
 */
import type { Request, RequestHandler } from 'express';
import { AppError } from '../http/app-error';
import type { AuthContext, AuthService } from './auth.service';
import type { ClientScope } from './client-scope';

export type AccessLevel = 'read' | 'write' | 'owner';

const contexts = new WeakMap<Request, { auth: AuthContext; scope: ClientScope }>();
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function authenticate(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!match?.[1]) throw new AppError(401, 'unauthorized', 'Missing bearer token');
    const caller = await auth.authenticate(match[1]);
    let clientId = caller.clientId;
    if (caller.role === 'owner') {
      const requested = req.query.clientId;
      if (requested !== undefined) {
        if (typeof requested !== 'string' || !UUID_PATTERN.test(requested)) {
          throw new AppError(400, 'validation_failed', 'Invalid query', { issues: [{ path: 'query.clientId', message: 'must be a UUID' }] });
        }
        clientId = requested.toLowerCase();
      }
    }
    contexts.set(req, { auth: caller, scope: { clientId } });
    next();
  };
}

export function requireAccess(level: AccessLevel): RequestHandler {
  return (req, _res, next) => {
    const { role } = getAuth(req);
    if (level === 'owner' && role !== 'owner') throw new AppError(403, 'forbidden', 'Only the owner may do this');
    if (level === 'write' && role === 'client_viewer') throw new AppError(403, 'forbidden', 'Viewers have read-only access');
    next();
  };
}

export function getAuth(req: Request): AuthContext {
  const context = contexts.get(req);
  if (!context) throw new AppError(401, 'unauthorized', 'Not authenticated');
  return context.auth;
}

export function getScope(req: Request): ClientScope {
  const context = contexts.get(req);
  if (!context) throw new AppError(401, 'unauthorized', 'Not authenticated');
  return context.scope;
}
