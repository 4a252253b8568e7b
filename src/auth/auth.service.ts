/**
 * Logging in, refreshing and revoking sessions. A session is a refresh token (random, stored
 * only as a SHA-256 hash, single use: each refresh revokes it and issues a new one) plus
 * short-lived access tokens. Access tokens carry the user's token_version; bumping it
 * (password change, role change, disabling) ends every session at once, because each request
 * re-reads the user.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/connection';
import type { UserRole } from '../db/database';
import { AppError } from '../http/app-error';
import { findUserByEmail, findUserById, recordLogin, setPassword, type UserRow } from '../users/user.repository';
import type { AccessTokenService } from './access-token';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password';
import { consumeRefreshToken, findRevokedTokenOwner, insertRefreshToken, revokeUserRefreshTokens } from './refresh-token.repository';

export interface AuthContext {
  userId: string;
  email: string;
  role: UserRole;
  clientId: string | null;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export interface AuthService {
  login(email: string, password: string): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<TokenPair>;
  logout(refreshToken: string): Promise<void>;
  changePassword(userId: string, currentPassword: string, newPassword: string): Promise<TokenPair>;
  /** The caller behind an access token; 401 for anything not currently valid. */
  authenticate(accessToken: string): Promise<AuthContext>;
}

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');
const unauthorized = (message = 'Not authenticated') => new AppError(401, 'unauthorized', message);

export function createAuthService(db: Db, tokens: AccessTokenService, refreshTtlSeconds: number, clock: () => Date = () => new Date()): AuthService {
  async function issue(user: UserRow): Promise<TokenPair> {
    const refreshToken = crypto.randomBytes(32).toString('base64url');
    await insertRefreshToken(db, user.id, hashToken(refreshToken), new Date(clock().getTime() + refreshTtlSeconds * 1000));
    return {
      accessToken: tokens.sign({ userId: user.id, role: user.role, clientId: user.client_id, tokenVersion: user.token_version }),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: tokens.ttlSeconds,
    };
  }

  return {
    async login(email, password) {
      const user = await findUserByEmail(db, email);
      // Compare against a dummy hash for unknown emails so response time does not reveal them.
      const ok = await verifyPassword(password, user?.password_hash ?? (await dummyPasswordHash()));
      if (!user || !ok || user.disabled_at) throw unauthorized('Wrong email or password');
      await recordLogin(db, user.id, clock());
      return issue(user);
    },

    async refresh(refreshToken) {
      const hash = hashToken(refreshToken);
      const userId = await consumeRefreshToken(db, hash, clock());
      if (!userId) {
        // A used token presented again was copied: end every session of that user.
        const victim = await findRevokedTokenOwner(db, hash);
        if (victim) await revokeUserRefreshTokens(db, victim, clock());
        throw unauthorized('Refresh token is invalid, expired or already used');
      }
      const user = await findUserById(db, userId);
      if (!user || user.disabled_at) throw unauthorized();
      return issue(user);
    },

    async logout(refreshToken) {
      await consumeRefreshToken(db, hashToken(refreshToken), clock());
    },

    async changePassword(userId, currentPassword, newPassword) {
      const user = await findUserById(db, userId);
      if (!user) throw unauthorized();
      if (!(await verifyPassword(currentPassword, user.password_hash))) {
        throw new AppError(403, 'wrong_password', 'The current password is wrong', { issues: [{ path: 'currentPassword', message: 'wrong password' }] });
      }
      const passwordHash = await hashPassword(newPassword);
      const tokenVersion = await db.transaction().execute(async (trx) => {
        const version = await setPassword(trx, userId, passwordHash);
        await revokeUserRefreshTokens(trx, userId, clock());
        return version;
      });
      return issue({ ...user, token_version: tokenVersion });
    },

    async authenticate(accessToken) {
      const claims = tokens.verify(accessToken);
      if (!claims) throw unauthorized('Access token is invalid or expired');
      const user = await findUserById(db, claims.userId);
      if (!user || user.disabled_at || user.token_version !== claims.tokenVersion) throw unauthorized('Session has been revoked');
      // Role and client come from the database, not the token, so a change applies at once.
      return { userId: user.id, email: user.email, role: user.role, clientId: user.client_id };
    },
  };
}
