import express from 'express';
import request from 'supertest';
import { AppError } from '../../src/http/app-error';
import { errorMiddleware, notFoundHandler } from '../../src/http/error-middleware';
import { createLogger } from '../../src/logger';

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
});
