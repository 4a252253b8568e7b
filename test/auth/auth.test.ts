import jwt from 'jsonwebtoken';
import request from 'supertest';
import { deriveJwtKey, JWT_AUDIENCE, JWT_ISSUER } from '../../src/auth/access-token';
import { bearer, createUser, JWT_SECRET, login, TEST_PASSWORD, testApp } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';

const t = useTestDatabase();

describe('auth', () => {
  let app: ReturnType<typeof testApp>;
  let userId: string;
  let clientId: string;
  const key = () => deriveJwtKey(JWT_SECRET);

  beforeAll(async () => {
    app = testApp(t.db);
    const client = await t.db.insertInto('clients').values({ name: 'auth-client' }).returning('id').executeTakeFirstOrThrow();
    clientId = client.id;
    userId = await createUser(t.db, 'admin@auth.test', 'client_admin', clientId);
  });

  const claims = () => ({ role: 'client_admin', cid: clientId, tv: 0 });
  const me = (token: string) => request(app).get('/api/auth/me').set(bearer(token));

  it('logs in with the right password and answers who the caller is', async () => {
    const tokens = await login(app, 'ADMIN@auth.test');
    const res = await me(tokens.accessToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId, email: 'admin@auth.test', role: 'client_admin', clientId });
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    const wrong = await request(app).post('/api/auth/login').send({ email: 'admin@auth.test', password: 'nope nope nope' });
    const unknown = await request(app).post('/api/auth/login').send({ email: 'ghost@auth.test', password: TEST_PASSWORD });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
  });

  it('reports missing and mistyped login fields with their paths', async () => {
    const res = await request(app).post('/api/auth/login').send({ email: 42 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['email', 'password']);
  });

  it('answers 400 for a body that is not JSON and 413 for an oversize one', async () => {
    const bad = await request(app).post('/api/auth/login').set('Content-Type', 'application/json').send('{"email":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    const big = await request(app).post('/api/auth/login').send({ email: 'a@b.co', password: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
  });

  it('refuses requests without a token or with a malformed header', async () => {
    expect((await request(app).get('/api/auth/me')).status).toBe(401);
    expect((await request(app).get('/api/auth/me').set('Authorization', 'Basic abc')).status).toBe(401);
    expect((await me('not.a.jwt')).status).toBe(401);
  });

  it('refuses a token with alg none', async () => {
    const unsigned = jwt.sign(claims(), '', { algorithm: 'none', subject: userId, audience: JWT_AUDIENCE, issuer: JWT_ISSUER, expiresIn: 600 });
    expect(unsigned.split('.')[2]).toBe('');
    const res = await me(unsigned);
    expect(res.status).toBe(401);
  });

  it('refuses a token signed with another key', async () => {
    const forged = jwt.sign(claims(), 'another-secret-another-secret-1234', { algorithm: 'HS256', subject: userId, audience: JWT_AUDIENCE, issuer: JWT_ISSUER, expiresIn: 600 });
    expect((await me(forged)).status).toBe(401);
  });

  it('refuses an expired token', async () => {
    const expired = jwt.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 10 }, key(), { algorithm: 'HS256', subject: userId, audience: JWT_AUDIENCE, issuer: JWT_ISSUER });
    expect((await me(expired)).status).toBe(401);
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const otherAudience = jwt.sign(claims(), key(), { algorithm: 'HS256', subject: userId, audience: 'sponsor-api', issuer: JWT_ISSUER, expiresIn: 600 });
    const otherIssuer = jwt.sign(claims(), key(), { algorithm: 'HS256', subject: userId, audience: JWT_AUDIENCE, issuer: 'someone-else', expiresIn: 600 });
    const good = jwt.sign(claims(), key(), { algorithm: 'HS256', subject: userId, audience: JWT_AUDIENCE, issuer: JWT_ISSUER, expiresIn: 600 });
    expect((await me(otherAudience)).status).toBe(401);
    expect((await me(otherIssuer)).status).toBe(401);
    expect((await me(good)).status).toBe(200);
  });

  it('refuses a token signed with the raw server secret instead of the derived key', async () => {
    const raw = jwt.sign(claims(), JWT_SECRET, { algorithm: 'HS256', subject: userId, audience: JWT_AUDIENCE, issuer: JWT_ISSUER, expiresIn: 600 });
    expect((await me(raw)).status).toBe(401);
  });

  it('rotates refresh tokens: each is usable once, and reusing one ends every session of that user', async () => {
    const first = await login(app, 'admin@auth.test');
    const second = await request(app).post('/api/auth/refresh').send({ refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect((await me(second.body.accessToken)).status).toBe(200);

    const replay = await request(app).post('/api/auth/refresh').send({ refreshToken: first.refreshToken });
    expect(replay.status).toBe(401);
    // The replay revoked the legitimate successor too: whoever copied the token gets nothing.
    const successor = await request(app).post('/api/auth/refresh').send({ refreshToken: second.body.refreshToken });
    expect(successor.status).toBe(401);
  });

  it('refuses an unknown refresh token and ends a session on logout', async () => {
    expect((await request(app).post('/api/auth/refresh').send({ refreshToken: 'made-up' })).status).toBe(401);
    expect((await request(app).post('/api/auth/refresh').send({})).status).toBe(400);
    const session = await login(app, 'admin@auth.test');
    expect((await request(app).post('/api/auth/logout').send({ refreshToken: session.refreshToken })).status).toBe(204);
    expect((await request(app).post('/api/auth/refresh').send({ refreshToken: session.refreshToken })).status).toBe(401);
  });

  it('revokes every existing access and refresh token when the password changes', async () => {
    const email = 'changer@auth.test';
    await createUser(t.db, email, 'client_viewer', clientId);
    const other = await login(app, email);
    const current = await login(app, email);

    const weak = await request(app).post('/api/auth/password').set(bearer(current.accessToken)).send({ currentPassword: TEST_PASSWORD, newPassword: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.error.details.issues[0].path).toBe('newPassword');
    const wrong = await request(app).post('/api/auth/password').set(bearer(current.accessToken)).send({ currentPassword: 'wrong password!', newPassword: 'a much better password' });
    expect(wrong.status).toBe(403);

    const changed = await request(app).post('/api/auth/password').set(bearer(current.accessToken)).send({ currentPassword: TEST_PASSWORD, newPassword: 'a much better password' });
    expect(changed.status).toBe(200);

    expect((await me(other.accessToken)).status).toBe(401);
    expect((await me(current.accessToken)).status).toBe(401);
    expect((await request(app).post('/api/auth/refresh').send({ refreshToken: other.refreshToken })).status).toBe(401);
    expect((await me(changed.body.accessToken)).status).toBe(200);
    expect((await request(app).post('/api/auth/login').send({ email, password: TEST_PASSWORD })).status).toBe(401);
    await login(app, email, 'a much better password');
  });

  it('refuses a disabled user at once, even with a token issued before', async () => {
    const email = 'disabled@auth.test';
    const id = await createUser(t.db, email, 'client_viewer', clientId);
    const tokens = await login(app, email);
    await t.db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', id).execute();
    expect((await me(tokens.accessToken)).status).toBe(401);
    expect((await request(app).post('/api/auth/login').send({ email, password: TEST_PASSWORD })).status).toBe(401);
  });

  it('rate-limits failed logins per address and email, without locking out other emails', async () => {
    const limited = testApp(t.db);
    const email = 'admin@auth.test';
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await request(limited).post('/api/auth/login').send({ email, password: `wrong-${i}` })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    const blocked = await request(limited).post('/api/auth/login').send({ email, password: TEST_PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('too_many_requests');
    await login(limited, 'changer@auth.test', 'a much better password');
  });
});
