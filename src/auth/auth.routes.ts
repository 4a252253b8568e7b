import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import type { Db } from '../db/connection';
import { countOwners } from '../users/user.repository';
import type { AuthService } from './auth.service';
import { OWNER_SETUP_COMMAND } from './owner-setup';
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS } from './password';

export const newPasswordSchema = z
  .string()
  .min(MIN_PASSWORD_CHARS, `must be at least ${MIN_PASSWORD_CHARS} characters`)
  .refine((value) => Buffer.byteLength(value) <= MAX_PASSWORD_BYTES, { message: `must be at most ${MAX_PASSWORD_BYTES} bytes` });

const loginBody = z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(200) }).strict();
const refreshBody = z.object({ refreshToken: z.string().min(1).max(200) }).strict();
const passwordBody = z.object({ currentPassword: z.string().min(1).max(200), newPassword: newPasswordSchema }).strict();
const tokenPair = z.object({ accessToken: z.string(), refreshToken: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.number() });
const me = z.object({ userId: z.uuid(), email: z.string(), role: z.enum(['owner', 'client_admin', 'client_viewer']), clientId: z.uuid().nullable() });

const setupState = z.object({
  ownerExists: z.boolean().describe('false on a fresh install: nobody can sign in until the owner is created'),
  command: z.string().describe('The command that creates the owner, run in the project folder while the server runs'),
});

export function registerAuthRoutes(api: ApiRouter, db: Db, auth: AuthService, loginAttemptsPerMinute: number): void {
  api.route({
    method: 'get',
    path: '/setup',
    operationId: 'getSetupState',
    tag: 'auth',
    summary: 'Whether the owner account exists yet (the console shows the first-run path when not)',
    access: 'public',
    response: setupState,
    handler: async () => ({ ownerExists: (await countOwners(db)) > 0, command: OWNER_SETUP_COMMAND }),
  });

  // Keyed by address and email together: one attacker cannot lock a user out from elsewhere,
  // and one address cannot try many passwords for one account. Successful logins do not count.
  const loginLimiter = rateLimit({
    windowMs: 60_000,
    limit: loginAttemptsPerMinute,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => {
      const body = req.body as { email?: unknown } | undefined;
      const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
      return `${ipKeyGenerator(req.ip ?? '')}|${email}`;
    },
    handler: (_req, _res, next) => next(new AppError(429, 'too_many_requests', 'Too many login attempts; try again in a minute')),
  });

  api.route({
    method: 'post',
    path: '/auth/login',
    operationId: 'login',
    tag: 'auth',
    summary: 'Log in with email and password',
    access: 'public',
    body: loginBody,
    status: 200,
    response: tokenPair,
    errors: [401, 429],
    middleware: [loginLimiter],
    handler: ({ body }) => auth.login(body.email, body.password),
  });
  api.route({
    method: 'post',
    path: '/auth/refresh',
    operationId: 'refreshTokens',
    tag: 'auth',
    // Every console session rotates its tokens every few minutes: a row each would bury the
    // trail, and it changes nothing anyone set. Sign-in (login) and sign-out (logout) are audited.
    audit: { skip: 'token rotation: the console refreshes every few minutes; login and logout are audited' },
    summary: 'Exchange a refresh token for a new token pair (the old refresh token is used up)',
    access: 'public',
    body: refreshBody,
    status: 200,
    response: tokenPair,
    errors: [401],
    handler: ({ body }) => auth.refresh(body.refreshToken),
  });
  api.route({
    method: 'post',
    path: '/auth/logout',
    operationId: 'logout',
    tag: 'auth',
    summary: 'End a session by revoking its refresh token',
    access: 'public',
    body: refreshBody,
    status: 204,
    handler: async ({ body }) => {
      await auth.logout(body.refreshToken);
    },
  });
  api.route({
    method: 'get',
    path: '/auth/me',
    operationId: 'getCurrentUser',
    tag: 'auth',
    summary: 'The signed-in user',
    response: me,
    handler: async ({ auth: caller }) => caller,
  });
  api.route({
    method: 'post',
    path: '/auth/password',
    operationId: 'changePassword',
    tag: 'auth',
    summary: 'Change your password; every other session is revoked',
    access: 'user',
    body: passwordBody,
    status: 200,
    response: tokenPair,
    errors: [403],
    handler: ({ auth: caller, body }) => auth.changePassword(caller.userId, body.currentPassword, body.newPassword),
  });
}
