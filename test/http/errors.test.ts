import express from 'express';
import { sql } from 'kysely';
import request from 'supertest';
import { createDb } from '../../src/db/connection';
import { findFreePort } from '../../src/db/embedded-postgres';
import { AppError } from '../../src/http/app-error';
import { errorMiddleware, notFoundHandler } from '../../src/http/error-middleware';
import { createLogger } from '../../src/logger';
import { useTestDatabase } from '../helpers/database';

function appWith(route: express.RequestHandler) {
  const app = express();
  app.use(express.json({ limit: '1kb' }));
  app.post('/thing', route);
  app.get('/thing', route);
  app.use(notFoundHandler());
  app.use(errorMiddleware(createLogger('silent')));
  return app;
}

describe('API errors', () => {
  it('send an AppError as {error: {code, message, details}} with its status', async () => {
    const app = appWith(() => {
      throw new AppError(422, 'invalid_field', 'Name is required', { path: ['name'] });
    });
    const res = await request(app).get('/thing');
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ error: { code: 'invalid_field', message: 'Name is required', details: { path: ['name'] } } });
  });

  it('answer unknown routes with a JSON 404', async () => {
    const res = await request(appWith((_req, res) => res.end())).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found', details: null });
  });

  it('answer a path whose %-escape does not decode with 400 invalid_path, on any route with a parameter', async () => {
    const app = express();
    app.get('/things/:id', (_req, res) => res.end());
    app.use(errorMiddleware(createLogger('silent')));
    const res = await request(app).get('/things/%ZZ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'invalid_path', message: expect.any(String), details: null } });
  });

  it('answer malformed JSON with 400 invalid_json', async () => {
    const res = await request(appWith((_req, res) => res.end())).post('/thing').set('content-type', 'application/json').send('{"a":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('answer an oversize body with 413', async () => {
    const res = await request(appWith((_req, res) => res.end())).post('/thing').send({ big: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('hide the details of unexpected errors, including from async handlers', async () => {
    const app = appWith(async () => {
      throw new Error('connection string postgres://admin:hunter2@db leaked');
    });
    const res = await request(app).get('/thing');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'internal_error', message: 'Internal server error', details: null } });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
  });

  it('answer a query the database cannot take (nothing listening) with 503 database_unavailable and Retry-After, not 500', async () => {
    const deadDb = createDb(`postgres://nobody@127.0.0.1:${await findFreePort()}/none`, { poolMax: 1, idleTimeoutMs: 100 });
    try {
      const app = appWith(async (_req, res) => {
        await sql`select 1`.execute(deadDb);
        res.end();
      });
      const res = await request(app).get('/thing');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({ error: { code: 'database_unavailable', message: 'The database is unavailable; try again shortly', details: null } });
    } finally {
      await deadDb.destroy();
    }
  });

  it.each([
    ['a session ended by a restart (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a server starting up (57P03)', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    ['a connection that broke (08006)', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['a socket the server closed', new Error('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
  ])('answer %s with 503 database_unavailable', async (_what, error) => {
    const res = await request(appWith(async () => Promise.reject(error))).get('/thing');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('database_unavailable');
  });

  it('answer a query error that is not about the connection with a 500 still', async () => {
    const res = await request(appWith(async () => Promise.reject(Object.assign(new Error('division by zero'), { code: '22012' })))).get('/thing');
    expect(res.status).toBe(500);
  });

  describe('text the database refuses, should it get past the input checks', () => {
    const t = useTestDatabase();

    it.each([
      ['a NUL in text (22021)', sql`select ${'a\u0000b'}::text`],
      ['a NUL escape in jsonb (22P05)', sql`select ${'{"a":"\\u0000"}'}::jsonb`],
      ['an unpaired surrogate in jsonb (22P02)', sql`select ${'{"a":"\\ud800"}'}::jsonb`],
    ])('answer %s with 400 invalid_text', async (_what, query) => {
      const res = await request(
        appWith(async (_req, res) => {
          await query.execute(t.db);
          res.end();
        }),
      ).get('/thing');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_text', details: null });
    });
  });
});
