/**
 * A client that knows only GET /api/openapi.json can call every operation. For each one the
 * request is built from the document alone (method, path with its parameters, query and
 * header parameters, the credentials its security scheme names, a body sampled from its
 * schema by openapi-sampler, a CSV file for uploads) and sent to the real app. The answer
 * must come from that route (never the "No route" 404, never a 500), carry a status the
 * operation documents, and match the documented JSON schema (ajv). The same holds with the
 * owner's `clientId` scope selector naming a client that does not exist. An operation that
 * declares security must answer 401 to the same request without credentials.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { JSONSchema7 } from 'json-schema';
import { sample } from 'openapi-sampler';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from './admin-api.helpers';
import { operationsOf, servedDocument, type DocumentedOperation, type OpenApiDocument, type Schema } from './openapi.helpers';

const t = useTestDatabase();

interface Credentials {
  bearerToken: string;
  apiKey: string;
}

interface RequestOptions {
  /** null: send none of the credentials the operation's security asks for. */
  credentials: Credentials | null;
  /** Send the owner's optional `clientId` scope selector too (sampled: a client that does not exist). */
  scopeSelector: boolean;
}

const sampleOf = (schema: Schema | undefined, document: OpenApiDocument): unknown =>
  sample((schema ?? {}) as JSONSchema7, { skipReadOnly: true, quiet: true }, document);

/** A request for `entry` built from the document. */
function buildRequest(world: World, document: OpenApiDocument, entry: DocumentedOperation, { credentials, scopeSelector }: RequestOptions): request.Test {
  const { operation } = entry;
  const parameters = operation.parameters ?? [];
  let url = entry.path;
  const query: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const parameter of parameters) {
    if (parameter.in === 'query' && parameter.name === 'clientId' && !scopeSelector) continue;
    const value = String(sampleOf(parameter.schema, document));
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeURIComponent(value));
    else if (parameter.in === 'query') query[parameter.name] = value;
    else if (parameter.in === 'header') headers[parameter.name] = value;
  }
  for (const requirement of credentials ? (operation.security ?? document.security ?? []) : []) {
    for (const schemeName of Object.keys(requirement)) {
      const scheme = document.components.securitySchemes[schemeName];
      if (scheme?.type === 'http' && scheme.scheme === 'bearer') Object.assign(headers, bearer(credentials!.bearerToken));
      else if (scheme?.type === 'apiKey' && scheme.in === 'header' && scheme.name) headers[scheme.name] = credentials!.apiKey;
      else throw new Error(`${entry.name}: security scheme ${schemeName} is not one a client can use here`);
    }
  }
  const method = entry.method as 'get' | 'post' | 'put' | 'patch' | 'delete';
  const req = request(world.app)[method](url).query(query).set(headers);
  const content = operation.requestBody?.content ?? {};
  if (content['application/json']) return req.send(sampleOf(content['application/json'].schema, document) as object);
  if (content['multipart/form-data']) return req.attach('file', Buffer.from('email\ncontract@example.com\n'), { filename: 'upload.csv', contentType: 'text/csv' });
  return req;
}

describe('a client generated from the OpenAPI document', () => {
  let world: World;
  let document: OpenApiDocument;
  let dereferenced: OpenApiDocument;
  let credentials: Credentials;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validators = new Map<Schema, ValidateFunction>();
  const validate = (schema: Schema, body: unknown): string | null => {
    let check = validators.get(schema);
    if (!check) validators.set(schema, (check = ajv.compile(schema)));
    return check(body) ? null : ajv.errorsText(check.errors);
  };

  beforeAll(async () => {
    const app = testApp(t.db);
    world = await createWorld(t.db, app, 'contract');
    document = await servedDocument(app);
    dereferenced = (await SwaggerParser.dereference(structuredClone(document) as never)) as unknown as OpenApiDocument;
    const sponsor = await request(app).post('/api/sponsors').set(bearer(world.a.adminToken)).send({ name: 'Contract sponsor' });
    const key = await request(app).post(`/api/sponsors/${sponsor.body.id}/keys`).set(bearer(world.a.adminToken));
    if (key.status !== 201) throw new Error(`sponsor key: ${key.status} ${JSON.stringify(key.body)}`);
    credentials = { bearerToken: world.ownerToken, apiKey: key.body.key as string };
  });

  async function callEveryOperation(scopeSelector: boolean): Promise<string[]> {
    const operations = operationsOf(document);
    expect(operations.length).toBeGreaterThan(40);
    const problems: string[] = [];
    for (const entry of operations) {
      const res = await buildRequest(world, document, entry, { credentials, scopeSelector });
      const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
      const said = `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
      if (res.status === 404 && error?.message?.startsWith('No route')) problems.push(`${entry.name}: no route answers it`);
      else if (res.status >= 500) problems.push(`${entry.name}: ${said}`);
      else if (!(String(res.status) in entry.operation.responses)) problems.push(`${entry.name}: undocumented status ${said}`);
      else {
        const media = dereferenced.paths[entry.path]![entry.method]!.responses[String(res.status)]!.content?.['application/json'];
        const mismatch = media?.schema && res.type === 'application/json' ? validate(media.schema, res.body) : null;
        if (mismatch) problems.push(`${entry.name}: ${res.status} body does not match its schema: ${mismatch}`);
      }
    }
    return problems;
  }

  it('reaches every documented operation, answers only documented statuses and matches the documented schemas', async () => {
    expect(await callEveryOperation(false)).toEqual([]);
  });

  it("does the same with the owner's clientId selector naming a client that does not exist (404 on writes, never a 500)", async () => {
    expect(await callEveryOperation(true)).toEqual([]);
  });

  it('answers 401 without the credentials an operation declares', async () => {
    const problems: string[] = [];
    for (const entry of operationsOf(document).filter(({ operation }) => (operation.security ?? []).length > 0)) {
      const res = await buildRequest(world, document, entry, { credentials: null, scopeSelector: false });
      if (res.status !== 401) problems.push(`${entry.name}: ${res.status} without credentials`);
    }
    expect(problems).toEqual([]);
  });
});
