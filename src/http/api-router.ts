/**
 * Declares an /api route once: validation (params, query, JSON body with zod), access level,
 * tenant scope and its OpenAPI entry all come from the one spec. Handlers receive parsed
 * input and the caller's ClientScope and return the JSON to send (or write the response
 * themselves, for CSV and multipart).
 *
 * Path parameters that fail validation (a malformed id) answer 404, like a foreign or missing
 * id, so ids are never distinguishable by their shape.
 */
import type { OpenAPIRegistry, ResponseConfig, ZodRequestBody } from '@asteasolutions/zod-to-openapi';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { authenticate, getAuth, getScope, requireAccess, type AccessLevel } from '../auth/auth.middleware';
import type { AuthContext, AuthService } from '../auth/auth.service';
import type { ClientScope } from '../auth/client-scope';
import type { AuditRecorder } from '../audit/audit-recorder';
import { targetIdOf } from '../audit/audit-recorder';
import { AppError } from './app-error';
import { jsonBody } from './body-parsers';
import { BEARER_SCHEME, clientScopeParameter, errorSchema, SPONSOR_KEY_SCHEME, toOpenApiPath } from './openapi';
import { parseOrThrow } from './validation';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodType<Record<string, unknown>>;

/**
 * Who may call a route. 'public' needs no credentials (login, refresh); 'user' and 'read' any
 * signed-in role; 'write' not client_viewer; 'owner' only the owner. 'sponsorKey' routes are
 * authenticated by the sponsor API key (X-Api-Key) that their own middleware checks
 * (sponsor-auth.middleware.ts), so here it only decides what the document declares.
 */
export type RouteAccess = AccessLevel | 'public' | 'user' | 'sponsorKey';

export interface RouteContext<P, Q, H, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  headers: H;
  body: B;
  auth: AuthContext;
  scope: ClientScope;
}

/**
 * How a write route is audited. Every non-GET route gets an audit row after a 2xx answer
 * (src/audit/); a settings route adds `load` so the row holds the target's state before and
 * after (secrets redacted). `skip` takes a route out, with the reason, which the audit test
 * lists and checks.
 */
export interface RouteAudit<P> {
  /** The target's current state (a settings row), by the target's id, within the caller's scope. */
  load?(id: string, scope: ClientScope, params: P): Promise<unknown>;
  /** The target is a client itself: its id is the row's client. */
  targetIsClient?: boolean;
  /** What of the body the row keeps (default: all of it, secrets redacted); for bodies naming a person to forget. */
  changes?(body: unknown): unknown;
  /** Not audited, and why. */
  skip?: string;
}

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, H extends AnyObject, B extends z.ZodType> {
  method: Method;
  /** Express path relative to /api, e.g. '/campaigns/:id'. */
  path: string;
  /** The OpenAPI operationId: verb + noun in camelCase (listAccounts, createAccount), unique in the API. */
  operationId: string;
  summary: string;
  tag: string;
  /** Default: 'read' for GET, else 'write'. */
  access?: RouteAccess;
  params?: P;
  query?: Q;
  /** Request headers the route reads, keyed by their canonical name (e.g. 'Idempotency-Key'). */
  headers?: H;
  body?: B;
  /** Largest JSON body this route reads, counted on the bytes received; default: server.requestBodyLimitKb. */
  bodyLimitBytes?: number;
  /** Non-JSON request body (CSV upload); handled by the route itself. */
  upload?: { contentType: 'multipart/form-data'; description: string };
  status?: number;
  response?: z.ZodType;
  /** Non-JSON response (CSV export). */
  responseContentType?: string;
  /** Error statuses the route answers beyond those its spec implies (see errorStatuses). */
  errors?: number[];
  /** Extra middleware run before validation (e.g. the login rate limiter). */
  middleware?: RequestHandler[];
  audit?: RouteAudit<z.output<P>>;
  handler(context: RouteContext<z.output<P>, z.output<Q>, z.output<H>, z.output<B>>): Promise<unknown>;
}

type DocumentedSpec = Pick<
  RouteSpec<AnyObject, AnyObject, AnyObject, z.ZodType>,
  'method' | 'path' | 'operationId' | 'summary' | 'tag' | 'access' | 'params' | 'query' | 'headers' | 'body' | 'upload' | 'status' | 'response' | 'responseContentType' | 'errors'
>;

const emptyObject = z.object({});

export class ApiRouter {
  readonly router = Router();
  private readonly operationIds = new Set<string>();
  /** Every write route registered through route(), with how it is audited (the audit test reads it). */
  readonly writeRoutes: { method: Method; path: string; operationId: string; access: RouteAccess; audited: boolean; skipReason?: string; loadsState: boolean }[] = [];

  constructor(
    private readonly registry: OpenAPIRegistry,
    private readonly auth: AuthService,
    /** The JSON body limit of routes that set none (server.requestBodyLimitKb). */
    private readonly defaultBodyLimitBytes: number,
    /** Writes the audit row of every successful write (src/audit/audit-recorder.ts). */
    private readonly auditor: AuditRecorder,
    private readonly prefix = '/api',
  ) {}

  route<P extends AnyObject = typeof emptyObject, Q extends AnyObject = typeof emptyObject, H extends AnyObject = typeof emptyObject, B extends z.ZodType = z.ZodUndefined>(
    spec: RouteSpec<P, Q, H, B>,
  ): void {
    const access = accessOf(spec);
    const status = statusOf(spec);
    this.register(spec);

    const signedIn = usesBearer(access);
    const audited = spec.method !== 'get' && spec.audit?.skip === undefined;
    if (spec.method !== 'get') {
      this.writeRoutes.push({
        method: spec.method,
        path: spec.path,
        operationId: spec.operationId,
        access,
        audited,
        ...(spec.audit?.skip !== undefined ? { skipReason: spec.audit.skip } : {}),
        loadsState: spec.audit?.load !== undefined,
      });
    }
    const handlers: RequestHandler[] = [];
    if (signedIn) {
      handlers.push(authenticate(this.auth));
      if (access !== 'user') handlers.push(requireAccess(access));
    }
    // Read after authentication (nobody unknown gets a body read) and before the route's own
    // middleware (the login limiter keys on the email in the body).
    if (spec.body) handlers.push(...jsonBody(spec.bodyLimitBytes ?? this.defaultBodyLimitBytes));
    handlers.push(...(spec.middleware ?? []));
    handlers.push(async (req, res) => {
      const params = spec.params ? spec.params.safeParse(req.params) : undefined;
      if (params && !params.success) throw new AppError(404, 'not_found', 'Not found');
      const query = parseOrThrow(spec.query ?? emptyObject, stripClientId(req.query, access), 'query');
      const headers = parseOrThrow(spec.headers ?? emptyObject, readHeaders(req, spec.headers), 'header');
      const body = spec.body ? parseOrThrow(spec.body, req.body, 'body') : undefined;
      const parsedParams = (params?.data ?? {}) as z.output<P>;
      const auth = signedIn ? getAuth(req) : (undefined as unknown as AuthContext);
      const scope = signedIn ? getScope(req) : { clientId: null };
      const load = audited ? spec.audit?.load : undefined;
      const paramId = targetIdOf(parsedParams, undefined);
      const before = load && paramId !== null ? await this.loadState(spec.operationId, () => load(paramId, scope, parsedParams)) : undefined;
      const result = await spec.handler({ req, res, params: parsedParams, query: query as z.output<Q>, headers: headers as z.output<H>, body: body as z.output<B>, auth, scope });
      // The audit row is written before the answer goes out, so a caller that saw 2xx finds its
      // row (routes that stream their own answer, CSV, are recorded just after it).
      const answerStatus = res.headersSent ? res.statusCode : result === undefined ? (status === 201 || status === 200 ? 204 : status) : status;
      if (audited && answerStatus >= 200 && answerStatus < 300) {
        const targetId = targetIdOf(parsedParams, result);
        const after = load && targetId !== null ? await this.loadState(spec.operationId, () => load(targetId, scope, parsedParams)) : undefined;
        await this.auditor.record({
          req,
          status: answerStatus,
          operationId: spec.operationId,
          tag: spec.tag,
          method: spec.method,
          caller: signedIn ? 'bearer' : access === 'sponsorKey' ? 'sponsorKey' : 'public',
          auth: signedIn ? auth : undefined,
          scope,
          params: parsedParams,
          body: spec.upload ? { upload: spec.upload.contentType } : spec.audit?.changes ? spec.audit.changes(body) : body,
          result,
          targetId,
          before,
          after,
          ...(spec.audit?.targetIsClient && targetId !== null ? { clientId: targetId } : {}),
        });
      }
      if (res.headersSent) return;
      if (result === undefined) res.status(answerStatus).end();
      else res.status(answerStatus).json(result);
    });
    this.router[spec.method](spec.path, ...handlers);
  }

  /** A state loader's failure is logged and leaves the row without that state: the change itself goes on. */
  private async loadState(operationId: string, load: () => Promise<unknown>): Promise<unknown> {
    try {
      return (await load()) ?? null;
    } catch (error) {
      this.auditor.loaderFailed(operationId, error);
      return undefined;
    }
  }

  /**
   * Documents a route another router mounts under /api (it validates and answers on its own);
   * the OpenAPI test fails for any /api route that is neither declared through route() nor here.
   */
  document(spec: DocumentedSpec): void {
    this.register(spec);
  }

  private register(spec: DocumentedSpec): void {
    if (this.operationIds.has(spec.operationId)) throw new Error(`operationId ${spec.operationId} is declared twice`);
    this.operationIds.add(spec.operationId);
    const access = accessOf(spec);
    const bearer = usesBearer(access);
    // The owner's `?clientId=` scope selector (read by authenticate) applies to every bearer route.
    const query = bearer ? ((spec.query ?? emptyObject) as z.ZodObject).extend({ clientId: clientScopeParameter }) : spec.query;
    this.registry.registerPath({
      method: spec.method,
      path: toOpenApiPath(this.prefix + spec.path),
      operationId: spec.operationId,
      summary: spec.summary,
      description: ACCESS_DESCRIPTIONS[access],
      tags: [spec.tag],
      security: access === 'public' ? [] : [{ [bearer ? BEARER_SCHEME : SPONSOR_KEY_SCHEME]: [] }],
      request: {
        ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
        ...(query ? { query: query as z.ZodObject } : {}),
        ...(spec.headers ? { headers: spec.headers as z.ZodObject } : {}),
        ...requestBodyOf(spec),
      },
      responses: {
        [String(statusOf(spec))]: successResponseOf(spec),
        ...Object.fromEntries(errorStatuses(spec).map((code) => [String(code), errorResponse(code)])),
      },
    });
  }
}

function accessOf(spec: Pick<DocumentedSpec, 'access' | 'method'>): RouteAccess {
  return spec.access ?? (spec.method === 'get' ? 'read' : 'write');
}

function statusOf(spec: Pick<DocumentedSpec, 'status' | 'method'>): number {
  return spec.status ?? (spec.method === 'post' ? 201 : 200);
}

function usesBearer(access: RouteAccess): access is AccessLevel | 'user' {
  return access !== 'public' && access !== 'sponsorKey';
}

const ACCESS_DESCRIPTIONS: Record<RouteAccess, string> = {
  public: 'Public: no credentials.',
  user: 'Bearer access token of any signed-in user (owner, client_admin, client_viewer).',
  read: 'Bearer access token; roles owner, client_admin and client_viewer (a client user only sees its own client; the owner may narrow to one with ?clientId=).',
  write: 'Bearer access token; roles owner and client_admin (client_viewer gets 403; a client user only reaches its own client; the owner may narrow to one with ?clientId=).',
  owner: 'Bearer access token; owner only (other roles get 403).',
  sponsorKey: 'Sponsor API key in the X-Api-Key header (never in the query string).',
};

/**
 * The error statuses an operation can answer: 400 for any request (bad JSON, a bad field, a
 * path that does not decode), 401/403 from its access, 404 for a path id or, on a signed-in
 * write, a row it names (a body id, the owner's ?clientId=) that does not exist or is not the
 * caller's, 413 for a body over the limit, 503 while the database is unavailable, plus those
 * the route declares.
 */
function errorStatuses(spec: DocumentedSpec): number[] {
  const access = accessOf(spec);
  const codes = new Set([400, 503, ...(spec.errors ?? [])]);
  if (access !== 'public') codes.add(401);
  if (access === 'write' || access === 'owner' || access === 'sponsorKey') codes.add(403);
  if (spec.params || (usesBearer(access) && spec.method !== 'get')) codes.add(404);
  if (spec.body || spec.upload) codes.add(413);
  return [...codes].sort((a, b) => a - b);
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request; error.details.issues names each field at fault',
  401: 'Missing or invalid credentials',
  403: 'Not allowed for this caller',
  404: 'Not found (or not visible to this caller)',
  409: 'Conflicts with the current state',
  413: 'Request body too large; error.details.limitBytes says the limit',
  415: 'Unsupported content type or encoding',
  422: 'Valid, but cannot be done as things stand',
  429: 'Too many requests; wait before trying again',
  503: 'The database is unavailable; repeat the request after Retry-After seconds',
};

function errorResponse(code: number): ResponseConfig {
  return {
    description: ERROR_DESCRIPTIONS[code] ?? 'Error',
    ...(code === 503 ? { headers: { 'Retry-After': { description: 'Seconds to wait before repeating the request', schema: { type: 'integer' } } } } : {}),
    content: { 'application/json': { schema: errorSchema } },
  };
}

function successResponseOf(spec: DocumentedSpec): ResponseConfig {
  if (spec.responseContentType) return { description: 'OK', content: { [spec.responseContentType]: { schema: z.string() } } };
  if (spec.response) return { description: 'OK', content: { 'application/json': { schema: spec.response } } };
  return { description: 'OK, no content' };
}

/** CSV uploads (receiveCsv) take the file as the multipart part "file", or as a raw text/csv body. */
function requestBodyOf(spec: DocumentedSpec): { body?: ZodRequestBody } {
  if (spec.upload) {
    return {
      body: {
        description: spec.upload.description,
        required: true,
        content: {
          [spec.upload.contentType]: {
            schema: {
              type: 'object',
              required: ['file'],
              properties: { file: { type: 'string', contentMediaType: 'text/csv', description: 'The CSV file, UTF-8, header row first' } },
            },
            encoding: { file: { contentType: 'text/csv' } },
          },
          'text/csv': { schema: { type: 'string' } },
        },
      },
    };
  }
  if (spec.body) return { body: { required: true, content: { 'application/json': { schema: spec.body } } } };
  return {};
}

/** The declared headers, read by name (Express matches header names case-insensitively). */
function readHeaders(req: Request, headers: AnyObject | undefined): Record<string, string | undefined> {
  const shape = (headers as z.ZodObject | undefined)?.shape ?? {};
  return Object.fromEntries(Object.keys(shape).map((name) => [name, req.get(name)]));
}

/** `clientId` in the query is the owner's scope selector (read by authenticate), not a route field. */
function stripClientId(query: Request['query'], access: RouteAccess): Record<string, unknown> {
  if (!usesBearer(access)) return { ...query };
  const { clientId: _ignored, ...rest } = query as Record<string, unknown>;
  return rest;
}
