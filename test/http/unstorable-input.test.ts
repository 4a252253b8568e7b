/**
 * Text Postgres cannot store (a NUL, an unpaired UTF-16 surrogate) and paths that do not
 * decode are refused with a 4xx naming the field, on every route: the admin API's routes are
 * walked from its OpenAPI document and the public ones from the Express router, so a new
 * route is covered without touching this file.
 */
import type { Express } from 'express';
import request from 'supertest';
import type { Config } from '../../src/config';
import { landingSignerFor, trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { seedSentMessage } from '../tracking/fixtures';
import { bearer, createWorld, testApp, testConfig, type World } from './admin-api.helpers';
import { mountedRoutes } from './mounted-routes';

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\ud800b';
const BAD_TEXTS = [
  ['a NUL', NUL],
  ['an unpaired surrogate', LONE_SURROGATE],
] as const;
/** Path segments that cannot be a stored value: NUL, an escape that does not decode, and an encoded unpaired surrogate (not UTF-8). */
const BAD_SEGMENTS = ['a%00b', '%ZZ', '%ED%A0%80'];

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
interface Parameter {
  in: 'path' | 'query';
  name: string;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: unknown[];
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/** Paths (as key lists) of every string a JSON body of `schema` can hold; records and arrays get one sample entry. */
function stringPaths(schema: Schema, document: Document, path: string[] = [], depth = 0): string[][] {
  if (depth > 8) return [];
  if (schema.$ref) return stringPaths(document.components?.schemas?.[schema.$ref.split('/').pop()!] ?? {}, document, path, depth + 1);
  const found: string[][] = [];
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes('string')) found.push(path);
  for (const [key, child] of Object.entries(schema.properties ?? {})) found.push(...stringPaths(child, document, [...path, key], depth + 1));
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') found.push(...stringPaths(schema.additionalProperties, document, [...path, 'sample_key'], depth + 1));
  if (schema.items) found.push(...stringPaths(schema.items, document, [...path, '0'], depth + 1));
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) found.push(...stringPaths(branch, document, path, depth + 1));
  const unique = new Map(found.map((p) => [p.join('.'), p]));
  return [...unique.values()];
}

/** `{a: {b: [value]}}` for the path ['a', 'b', '0']. */
function bodyWith(path: string[], value: string): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (/^\d+$/.test(head!)) return [bodyWith(rest, value)];
  return { [head!]: bodyWith(rest, value) };
}

const issuePaths = (res: request.Response): string[] => ((res.body?.error?.details?.issues ?? []) as Array<{ path: string }>).map((i) => i.path);

describe('text the database cannot store', () => {
  const t = useTestDatabase();
  const config: Config = testConfig();
  let app: Express;
  let world: World;
  let document: Document;
  let sponsorKey: string;

  beforeAll(async () => {
    app = testApp(t.db, config);
    world = await createWorld(t.db, app, 'nul');
    document = (await request(app).get('/api/openapi.json')).body as Document;
    const sponsor = await request(app).post('/api/sponsors').set(bearer(world.a.adminToken)).send({ name: 'Acme' });
    sponsorKey = (await request(app).post(`/api/sponsors/${sponsor.body.id}/keys`).set(bearer(world.a.adminToken))).body.key;
  });

  /** The owner's token for bearer routes, the sponsor's key (and an Idempotency-Key) for the sponsor API. */
  function call(method: string, url: string, openApiPath: string): request.Test {
    const test = request(app)[method as 'get'](url);
    if (openApiPath.startsWith('/api/sponsors/offers') || openApiPath.startsWith('/api/sponsors/leads')) return test.set('X-Api-Key', sponsorKey).set('Idempotency-Key', 'k-1');
    return test.set(bearer(world.ownerToken));
  }

  function operations(): Array<{ method: string; path: string; operation: Operation; url: (override?: { name: string; segment: string }) => string }> {
    return Object.entries(document.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({
        method,
        path,
        operation,
        url: (override?: { name: string; segment: string }) =>
          path.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
            if (override?.name === name) return override.segment;
            const parameter = operation.parameters?.find((p) => p.in === 'path' && p.name === name);
            return parameter?.schema.type === 'integer' ? '1' : '6f1c1d52-8f0b-4a8e-9a40-0d6f2c7f6a11';
          }),
      })),
    );
  }

  it('refuses a NUL or an unpaired surrogate in any string of any JSON body of the API with 400, naming the field', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const { method, path, operation, url } of operations()) {
      const schema = operation.requestBody?.content['application/json']?.schema;
      if (!schema) continue;
      for (const fieldPath of stringPaths(schema, document)) {
        for (const [label, text] of BAD_TEXTS) {
          checked += 1;
          const res = await call(method, url(), path).send(bodyWith(fieldPath, text) as object);
          const expected = fieldPath.join('.');
          if (res.status !== 400 || res.body?.error?.code !== 'validation_failed' || !issuePaths(res).includes(expected)) {
            failures.push(`${method.toUpperCase()} ${path} ${expected} (${label}): ${res.status} ${JSON.stringify(res.body)}`);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });

  it('refuses a NUL in any query parameter of the API with 400, naming the parameter', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const { method, path, operation, url } of operations()) {
      for (const parameter of (operation.parameters ?? []).filter((p) => p.in === 'query')) {
        checked += 1;
        const res = await call(method, `${url()}?${parameter.name}=a%00b`, path);
        if (res.status !== 400 || !issuePaths(res).includes(`query.${parameter.name}`)) failures.push(`${method.toUpperCase()} ${path}?${parameter.name}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  });

  it('refuses a path parameter holding a NUL, an undecodable escape or an encoded unpaired surrogate with 400 invalid_path on every API route', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const { method, path, operation, url } of operations()) {
      for (const parameter of (operation.parameters ?? []).filter((p) => p.in === 'path')) {
        for (const segment of BAD_SEGMENTS) {
          checked += 1;
          const res = await call(method, url({ name: parameter.name, segment }), path);
          if (res.status !== 400 || res.body?.error?.code !== 'invalid_path') failures.push(`${method.toUpperCase()} ${path} ${parameter.name}=${segment}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
    expect(failures).toEqual([]);
  });

  it('answers a CSV upload holding a NUL in each column with no 500 and stores no NUL, on every import route', async () => {
    // As a client admin (the owner would have to name a client), into a real campaign.
    const campaign = await request(app).post('/api/campaigns').set(bearer(world.a.adminToken)).send({ name: 'CSV' });
    // Columns of the contacts, suppressions and accounts importers (each ignores or keeps the others as custom fields).
    const columns = ['email', 'reason', 'first_name', 'company', 'display_name', 'smtp_host', 'smtp_user', 'smtp_password', 'imap_host', 'time_zone'];
    const failures: string[] = [];
    let checked = 0;
    for (const { method, path, operation } of operations()) {
      if (!operation.requestBody?.content['multipart/form-data']) continue;
      for (const column of columns) {
        checked += 1;
        const values = columns.map((name) => (name === 'email' ? `csv-nul-${checked}@example.com` : name === 'time_zone' ? 'UTC' : name.endsWith('host') ? 'mail.example.com' : 'x'));
        values[columns.indexOf(column)] = NUL;
        const csv = Buffer.from(`${columns.join(',')}\n${values.join(',')}\n`);
        const res = await request(app)[method as 'post'](path.replace('{id}', campaign.body.id))
          .set(bearer(world.a.adminToken))
          .attach('file', csv, { filename: 'nul.csv', contentType: 'text/csv' });
        if (res.status >= 500 || res.status === 401 || res.status === 404) failures.push(`${method.toUpperCase()} ${path} ${column}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4 * columns.length);
    expect(failures).toEqual([]);
    for (const table of ['contacts', 'suppressions', 'sender_accounts'] as const) expect(JSON.stringify(await t.db.selectFrom(table).selectAll().execute())).not.toContain('\\u0000');
  });

  it('refuses bad paths and a NUL in the query of every public route with a 4xx JSON error', async () => {
    const publicRoutes = mountedRoutes(app).filter((route) => !route.split(' ')[1]!.startsWith('/api/'));
    expect(publicRoutes).toEqual(expect.arrayContaining(['GET /t/c/:token', 'GET /u/:token', 'POST /u/:token', 'GET /l/:token', 'POST /l/:token', 'GET /healthz']));
    const failures: string[] = [];
    for (const route of publicRoutes) {
      const [method, path] = route.split(' ') as [string, string];
      const urls = [
        ...(path.includes(':') ? BAD_SEGMENTS.map((segment) => path.replace(/:[A-Za-z0-9_]+/g, segment)) : []),
        `${path.replace(/:[A-Za-z0-9_]+/g, 'x')}?q=a%00b`,
      ];
      for (const url of urls) {
        const res = await request(app)[method.toLowerCase() as 'get'](url);
        if (res.status < 400 || res.status >= 500 || !res.body?.error?.code) failures.push(`${method} ${url}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  describe('where each used to reach the database', () => {
    it('refuses a NUL in the login email', async () => {
      const res = await request(app).post('/api/auth/login').send({ email: `nul-owner@example.com${'\u0000'}`, password: 'whatever it is' });
      expect(res.status).toBe(400);
      expect(issuePaths(res)).toEqual(['email']);
    });

    it('refuses a NUL in a step body and an unpaired surrogate in a subject', async () => {
      const campaign = await request(app).post('/api/campaigns').set(bearer(world.a.adminToken)).send({ name: 'Nul' });
      expect(campaign.status).toBe(201);
      const res = await request(app)
        .put(`/api/campaigns/${campaign.body.id}/steps`)
        .set(bearer(world.a.adminToken))
        .send({ steps: [{ subject: 'Hi', bodyText: `Hello ${NUL}` }, { subject: `Again ${LONE_SURROGATE}` }] });
      expect(res.status).toBe(400);
      expect(issuePaths(res).sort()).toEqual(['steps.0.bodyText', 'steps.1.subject']);
    });

    it('refuses a NUL in the contact search', async () => {
      const res = await request(app).get('/api/contacts?search=ab%00c').set(bearer(world.a.adminToken));
      expect(res.status).toBe(400);
      expect(issuePaths(res)).toEqual(['query.search']);
    });

    it('refuses a NUL in a sponsor delivery URL', async () => {
      const res = await request(app).post('/api/sponsors').set(bearer(world.a.adminToken)).send({ name: 'Nul', deliveryUrl: `https://93.184.215.14/in${'\u0000'}` });
      expect(res.status).toBe(400);
      expect(issuePaths(res)).toEqual(['deliveryUrl']);
    });

    it('refuses an unpaired surrogate bound for jsonb: a contact custom field, a lead data value and key', async () => {
      const contact = await request(app)
        .post('/api/contacts')
        .set(bearer(world.a.adminToken))
        .send({ email: 'surrogate@example.com', customFields: { plan: LONE_SURROGATE } });
      expect(contact.status).toBe(400);
      expect(issuePaths(contact)).toEqual(['customFields.plan']);

      const lead = await request(app)
        .post('/api/sponsors/leads')
        .set('X-Api-Key', sponsorKey)
        .set('Idempotency-Key', 'surrogate')
        .send({ offerId: '6f1c1d52-8f0b-4a8e-9a40-0d6f2c7f6a11', email: 'lead@example.com', data: { note: LONE_SURROGATE, [`k${'\u0000'}`]: 'v' } });
      expect(lead.status).toBe(400);
      expect(issuePaths(lead).sort()).toEqual(['data', 'data.note']);
      expect(await t.db.selectFrom('leads').select('id').execute()).toEqual([]);
    });

    it('refuses a NUL in a landing form field, and bad escapes in the recipients’ routes', async () => {
      const message = await seedSentMessage(t.db, { clientId: world.a.clientId });
      const landing = landingSignerFor(config);
      const offer = await t.db
        .insertInto('offers')
        .values({ client_id: world.a.clientId, sponsor_id: (await t.db.selectFrom('sponsors').select('id').executeTakeFirstOrThrow()).id, name: 'O', lead_fields: JSON.stringify(['zip']) })
        .returning('id')
        .executeTakeFirstOrThrow();
      const form = await request(app).post(new URL(landing.landingUrl(message.sentQueueId, offer.id)).pathname).type('form').send(`email=${encodeURIComponent(message.email)}&zip=1%002`);
      expect(form.status).toBe(400);
      expect(issuePaths(form)).toEqual(['zip']);

      const signer = trackingSignerFor(config);
      for (const path of ['/t/c/%ZZ', '/u/%ZZ', '/l/%ZZ', `${new URL(signer.unsubscribeUrl(message.sentQueueId)).pathname}%00`]) {
        const res = await request(app).get(path);
        expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 400, code: 'invalid_path' });
      }
    });
  });
});
