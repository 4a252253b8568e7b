import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { createDb } from '../../src/db/connection';
import { findFreePort } from '../../src/db/embedded-postgres';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { useTestDatabase } from '../helpers/database';

const config = loadConfig({ DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-health-')) });
const logger = createLogger('silent');

describe('GET /healthz', () => {
  const t = useTestDatabase();

  it('answers 200 when the database answers', async () => {
    const res = await request(createApp({ config, db: t.db, logger })).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });

  it('answers 503 with a clear message when the database is down', async () => {
    const closedPort = await findFreePort();
    const deadDb = createDb(`postgres://nobody@127.0.0.1:${closedPort}/none`, { poolMax: 1, idleTimeoutMs: 100 });
    try {
      const res = await request(createApp({ config, db: deadDb, logger })).get('/healthz');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('database_unavailable');
      expect(res.body.error.message).toMatch(/^Database is unavailable: .*ECONNREFUSED/);
    } finally {
      await deadDb.destroy();
    }
  });
});
