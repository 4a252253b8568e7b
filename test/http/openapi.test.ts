import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { testApp } from './admin-api.helpers';
import { mountedRoutes } from './mounted-routes';
import { operationsOf, patternsOf, servedDocument, type OpenApiDocument, type Schema } from './openapi.helpers';

const t = useTestDatabase();

const PUBLIC_OPERATIONS = ['GET /api/setup', 'POST /api/auth/login', 'POST /api/auth/refresh', 'POST /api/auth/logout'];
const SPONSOR_KEY_OPERATIONS = ['GET /api/sponsors/offers', 'POST /api/sponsors/leads'];

describe('GET /api/openapi.json', () => {
  let document: OpenApiDocument;
  beforeAll(async () => {
    document = await servedDocument(testApp(t.db));
  });

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

  it('is a valid OpenAPI 3.1 document for swagger-parser', async () => {
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('gives every operation a unique camelCase operationId', () => {
    const ids = operationsOf(document).map(({ operation }) => operation.operationId);
    expect(ids.filter((id) => typeof id !== 'string' || !/^[a-z][A-Za-z0-9]+$/.test(id))).toEqual([]);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    expect(document.paths['/api/accounts']?.get?.operationId).toBe('listAccounts');
    expect(document.paths['/api/accounts']?.post?.operationId).toBe('createAccount');
  });

  it('declares the security each route enforces: none for login, X-Api-Key for the sponsor API, a bearer token with its roles for the rest', () => {
    expect(document.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      sponsorApiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }),
    });
    for (const { name, operation } of operationsOf(document)) {
      if (PUBLIC_OPERATIONS.includes(name)) expect([name, operation.security]).toEqual([name, []]);
      else if (SPONSOR_KEY_OPERATIONS.includes(name)) expect([name, operation.security]).toEqual([name, [{ sponsorApiKey: [] }]]);
      else expect([name, operation.security]).toEqual([name, [{ bearerAuth: [] }]]);
      if (operation.security?.length) expect([name, Object.keys(operation.responses)]).toEqual([name, expect.arrayContaining(['401'])]);
    }
    expect(document.paths['/api/clients']?.post?.description).toMatch(/owner only/);
    expect(document.paths['/api/campaigns']?.post?.description).toMatch(/owner and client_admin/);
    expect(document.paths['/api/campaigns']?.get?.description).toMatch(/owner, client_admin and client_viewer/);
  });

  it('documents the Idempotency-Key header of the lead API as a required parameter', () => {
    const header = document.paths['/api/sponsors/leads']?.post?.parameters?.find((p) => p.in === 'header');
    expect(header).toEqual(expect.objectContaining({ name: 'Idempotency-Key', required: true }));
  });

  it('describes request bodies, CSV uploads and error responses, every error through the one Error schema', () => {
    const createCampaign = document.paths['/api/campaigns']!.post!;
    expect(createCampaign.requestBody!.content['application/json']!.schema!.properties).toHaveProperty('steps');
    expect(Object.keys(createCampaign.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '413', '503']));
    const upload = document.paths['/api/contacts/import']!.post!.requestBody!.content;
    expect(upload['multipart/form-data']!.schema).toEqual(expect.objectContaining({ required: ['file'] }));
    expect(upload).toHaveProperty('text/csv');
    for (const { name, operation } of operationsOf(document)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) >= 400) expect([name, status, response.content]).toEqual([name, status, { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }]);
      }
    }
  });

  it('writes patterns as ECMA-262 without regex flags, accepting what the routes accept (mixed-case domains)', async () => {
    const patterns = patternsOf(document);
    expect(patterns.length).toBeGreaterThan(5);
    // JSON Schema patterns are compiled with the `u` flag; no `/…/i` left over from a JS regex.
    for (const pattern of patterns) {
      expect(() => new RegExp(pattern, 'u')).not.toThrow();
      expect(pattern).not.toMatch(/\/[a-z]*$/);
    }
    const dereferenced = (await SwaggerParser.dereference(structuredClone(document) as never)) as unknown as OpenApiDocument;
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const bodySchema = (path: string) => dereferenced.paths[path]!.post!.requestBody!.content['application/json']!.schema as Schema;
    const validDomain = ajv.compile(bodySchema('/api/domains'));
    expect([validDomain({ domain: 'Mail.Example.COM', dkimSelector: 'S1' }), validDomain.errors ?? null]).toEqual([true, null]);
    expect(validDomain({ domain: 'not a domain' })).toBe(false);
    const validClient = ajv.compile(bodySchema('/api/clients'));
    expect([validClient({ name: 'Acme', trackingDomain: 'Track.Example.COM' }), validClient.errors ?? null]).toEqual([true, null]);
  });
});
