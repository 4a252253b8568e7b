/** POST /campaigns/template-check: problems of unsaved steps, per field, errors and warnings; nothing stored. */
import type { Express } from 'express';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('checking templates being edited', () => {
  let app: Express;
  let world: World;
  beforeAll(async () => {
    app = testApp(t.db);
    world = await createWorld(t.db, app, 'tplcheck');
  });

  it('lists each step’s problems by field and position, errors and warnings apart', async () => {
    const res = await request(app)
      .post('/api/campaigns/template-check')
      .set(bearer(world.a.adminToken))
      .send({ steps: [{ subject: 'Hi {{first_name}}', bodyText: 'Fine' }, { subject: 'Hello {{first name}}', bodyHtml: '<p>{Hi||Hey}</p>', bodyText: 'x\n{Hi|Hello' }] });
    expect(res.status).toBe(200);
    expect(res.body.steps[0]).toEqual({ problems: [] });
    const problems = res.body.steps[1].problems as Array<{ field: string; code: string; severity: string; position: { line: number; column: number } }>;
    expect(problems.map((p) => [p.field, p.code, p.severity])).toEqual([
      ['subject', 'invalid_variable', 'error'],
      ['bodyHtml', 'empty_alternative', 'warning'],
      ['bodyText', 'unclosed_spintax', 'error'],
    ]);
    expect(problems[2]?.position).toMatchObject({ line: 2, column: 1 });
    expect(await t.db.selectFrom('sequence_steps').select('id').execute()).toEqual([]);
  });

  it('refuses bad bodies with 400 and issue paths, a viewer with 403, no token with 401', async () => {
    const empty = await request(app).post('/api/campaigns/template-check').set(bearer(world.a.adminToken)).send({ steps: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details.issues[0].path).toBe('steps');
    const wrongType = await request(app).post('/api/campaigns/template-check').set(bearer(world.a.adminToken)).send({ steps: [{ subject: 5 }] });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.details.issues[0].path).toBe('steps.0.subject');
    expect((await request(app).post('/api/campaigns/template-check').set(bearer(world.a.viewerToken)).send({ steps: [{ subject: 'x' }] })).status).toBe(403);
    expect((await request(app).post('/api/campaigns/template-check').send({ steps: [{ subject: 'x' }] })).status).toBe(401);
  });
});
