/**
 * Short-lived JWT access tokens. The algorithm is pinned to HS256 on both sides (so
 * `alg: none` and algorithm-confusion tokens are refused), and expiry, issuer and audience
 * are always checked. The signing key is derived from the server secret so it is never the
 * same key the tracking links use.
 */
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { UserRole } from '../db/database';

export const JWT_ISSUER = 'outreach';
export const JWT_AUDIENCE = 'outreach-admin-api';
const ALGORITHM = 'HS256';

export interface AccessClaims {
  userId: string;
  role: UserRole;
  clientId: string | null;
  tokenVersion: number;
}

export interface AccessTokenService {
  sign(claims: AccessClaims): string;
  /** The claims, or undefined for any token that is not ours, not valid, or expired. */
  verify(token: string): AccessClaims | undefined;
  readonly ttlSeconds: number;
}

export function deriveJwtKey(serverSecret: string): Buffer {
  return crypto.createHmac('sha256', serverSecret).update('outreach-jwt-v1').digest();
}

export function createAccessTokenService(serverSecret: string, ttlSeconds: number): AccessTokenService {
  const key = deriveJwtKey(serverSecret);
  return {
    ttlSeconds,
    sign: ({ userId, role, clientId, tokenVersion }) =>
      jwt.sign({ role, cid: clientId, tv: tokenVersion }, key, {
        algorithm: ALGORITHM,
        expiresIn: ttlSeconds,
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        subject: userId,
      }),
    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, { algorithms: [ALGORITHM], issuer: JWT_ISSUER, audience: JWT_AUDIENCE });
      } catch {
        return undefined;
      }
      if (typeof payload === 'string' || typeof payload.sub !== 'string' || typeof payload.tv !== 'number') return undefined;
      const role = payload.role as UserRole;
      if (role !== 'owner' && role !== 'client_admin' && role !== 'client_viewer') return undefined;
      return { userId: payload.sub, role, clientId: typeof payload.cid === 'string' ? payload.cid : null, tokenVersion: payload.tv };
    },
  };
}
