import request from 'supertest';
import { createOwner, generatePassword, ownerSetupHint } from '../../src/auth/owner-setup';
import { useTestDatabase } from '../helpers/database';
import { login, testApp } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('owner setup', () => {
  it('tells how to create the owner until one exists, then stays silent', async () => {
    const hint = await ownerSetupHint(t.db, 'https://admin.example.com');
    expect(hint).toContain('npm run create-admin -- --email');
    expect(hint).toContain('https://admin.example.com/api/auth/login');

    const password = generatePassword();
    expect(password.length).toBeGreaterThanOrEqual(20);
    const owner = await createOwner(t.db, 'Boss@Example.com', password);
    expect(owner.email).toBe('boss@example.com');
    expect(await ownerSetupHint(t.db, 'https://admin.example.com')).toBeUndefined();

    const app = testApp(t.db);
    const tokens = await login(app, 'boss@example.com', password);
    const me = await request(app).get('/api/auth/me').set('Authorization', `Bearer ${tokens.accessToken}`);
    expect(me.body).toMatchObject({ role: 'owner', clientId: null });
  });

  it('refuses a bad address, a short password and a taken email', async () => {
    await expect(createOwner(t.db, 'not an email', 'long enough password')).rejects.toThrow(/not a valid email/);
    await expect(createOwner(t.db, 'x@example.com', 'short')).rejects.toThrow(/password/);
    await expect(createOwner(t.db, 'boss@example.com', 'long enough password')).rejects.toThrow(/duplicate key/);
  });
});
