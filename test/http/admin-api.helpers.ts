/**
 * The real app over a test database, plus a tenant layout most admin API tests need: an
 * owner, two clients (A and B) each with an admin and a viewer, all logged in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { hashPassword } from '../../src/auth/password';
import { loadConfig, type Config } from '../../src/config';
import type { Db } from '../../src/db/connection';
import type { UserRole } from '../../src/db/database';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';

export const TEST_PASSWORD = 'correct horse battery';
export const JWT_SECRET = 'test-jwt-secret-0123456789-abcdefghijklmnop';

/** `tunables` overlays config/default.json the way an operator's CONFIG_FILE does (same shape, only the keys to change). */
export function testConfig(overrides: Record<string, string> = {}, tunables?: Record<string, unknown>): Config {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-api-test-'));
  const configFile = path.join(dataDir, 'config.json');
  if (tunables) fs.writeFileSync(configFile, JSON.stringify(tunables));
  return loadConfig({ DATA_DIR: dataDir, JWT_SECRET, LOG_LEVEL: 'error', BASE_URL: 'http://track.test', ...(tunables ? { CONFIG_FILE: configFile } : {}), ...overrides });
}

export function testApp(db: Db, config: Config = testConfig(), clock?: () => Date): Express {
  return createApp({ config, db, logger: createLogger('error'), ...(clock ? { clock } : {}) });
}

let passwordHash: Promise<string> | undefined;

export async function createUser(db: Db, email: string, role: UserRole, clientId: string | null): Promise<string> {
  passwordHash ??= hashPassword(TEST_PASSWORD);
  const row = await db
    .insertInto('users')
    .values({ email, role, client_id: clientId, password_hash: await passwordHash })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function login(app: Express, email: string, password = TEST_PASSWORD): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await request(app).post('/api/auth/login').send({ email, password });
  if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { accessToken: string; refreshToken: string };
}

export interface Tenant {
  clientId: string;
  adminToken: string;
  viewerToken: string;
  adminId: string;
  viewerId: string;
}

export interface World {
  app: Express;
  ownerToken: string;
  ownerId: string;
  a: Tenant;
  b: Tenant;
}

export async function createWorld(db: Db, app: Express, prefix = 'w'): Promise<World> {
  const ownerId = await createUser(db, `${prefix}-owner@example.com`, 'owner', null);
  const tenant = async (name: string): Promise<Tenant> => {
    const client = await db.insertInto('clients').values({ name: `${prefix}-${name}`, postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow();
    const adminId = await createUser(db, `${prefix}-${name}-admin@example.com`, 'client_admin', client.id);
    const viewerId = await createUser(db, `${prefix}-${name}-viewer@example.com`, 'client_viewer', client.id);
    return {
      clientId: client.id,
      adminId,
      viewerId,
      adminToken: (await login(app, `${prefix}-${name}-admin@example.com`)).accessToken,
      viewerToken: (await login(app, `${prefix}-${name}-viewer@example.com`)).accessToken,
    };
  };
  return { app, ownerId, ownerToken: (await login(app, `${prefix}-owner@example.com`)).accessToken, a: await tenant('a'), b: await tenant('b') };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * Registers a sender domain through the API, as an operator would before adding accounts on it
 * (an account's address must be on a sender domain of its own client). `clientId` for the owner.
 */
export async function addSenderDomain(app: Express, token: string, domain: string, fields: Record<string, unknown> = {}): Promise<string> {
  const res = await request(app).post('/api/domains').set(bearer(token)).send({ domain, ...fields });
  if (res.status !== 201) throw new Error(`adding domain ${domain} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}
