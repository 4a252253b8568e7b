import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { testApp } from './admin-api.helpers';
import { mountedRoutes } from './mounted-routes';

const t = useTestDatabase();

describe('GET /api/openapi.json', () => {
  it('documents every mounted /api route with its method', async () => {
    const app = testApp(t.db);
    const res = await request(app).get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [path, operations] of Object.entries(res.body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(operations)) documented.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
    }
    const routes = mountedRoutes(app).filter((r) => r.split(' ')[1]?.startsWith('/api/') && r !== 'GET /api/openapi.json');
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
    // And nothing documented that is not mounted.
    expect([...documented].filter((d) => !routes.includes(d))).toEqual([]);
  });

  it('describes request bodies and error responses from the route schemas', async () => {
    const res = await request(testApp(t.db)).get('/api/openapi.json');
    const createCampaign = res.body.paths['/api/campaigns'].post;
    expect(createCampaign.requestBody.content['application/json'].schema.properties).toHaveProperty('steps');
    expect(createCampaign.responses).toHaveProperty('401');
    expect(createCampaign.security).toEqual([{ bearerAuth: [] }]);
    expect(res.body.paths['/api/auth/login'].post.security).toEqual([]);
    expect(res.body.paths['/api/contacts/import'].post.requestBody.content).toHaveProperty('multipart/form-data');
  });
});
