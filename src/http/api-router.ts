/**
 * Declares an /api route once: validation (params, query, JSON body with zod), access level,
 * tenant scope and its OpenAPI entry all come from the one spec. Handlers receive parsed
 * input and the caller's ClientScope and return the JSON to send (or write the response
 * themselves, for CSV and multipart).
 *
 * Path parameters that fail validation (a malformed id) answer 404, like a foreign or missing
 * id, so ids are never distinguishable by their shape.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { authenticate, getAuth, getScope, requireAccess, type AccessLevel } from '../auth/auth.middleware';
import type { AuthContext, AuthService } from '../auth/auth.service';
import type { ClientScope } from '../auth/client-scope';
import { AppError } from './app-error';
import { jsonBody } from './body-parsers';
import { errorSchema, toOpenApiPath } from './openapi';
import { parseOrThrow } from './validation';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodType<Record<string, unknown>>;

export interface RouteContext<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  auth: AuthContext;
  scope: ClientScope;
}

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  method: Method;
  /** Express path relative to /api, e.g. '/campaigns/:id'. */
  path: string;
  summary: string;
  tag: string;
  /** 'public' skips authentication (login, refresh); default: 'read' for GET, else 'write'. */
  access?: AccessLevel | 'public' | 'user';
  params?: P;
  query?: Q;
  body?: B;
  /** Largest JSON body this route reads, counted on the bytes received; default: server.requestBodyLimitKb. */
  bodyLimitBytes?: number;
  /** Non-JSON request body (CSV upload); handled by the route itself. */
  upload?: { contentType: 'multipart/form-data'; description: string };
  status?: number;
  response?: z.ZodType;
  /** Non-JSON response (CSV export). */
  responseContentType?: string;
  errors?: number[];
  /** Extra middleware run before validation (e.g. the login rate limiter). */
  middleware?: RequestHandler[];
  handler(context: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

const emptyObject = z.object({});

export class ApiRouter {
  readonly router = Router();

  constructor(
    private readonly registry: OpenAPIRegistry,
    private readonly auth: AuthService,
    /** The JSON body limit of routes that set none (server.requestBodyLimitKb). */
    private readonly defaultBodyLimitBytes: number,
    private readonly prefix = '/api',
  ) {}

  route<P extends AnyObject = typeof emptyObject, Q extends AnyObject = typeof emptyObject, B extends z.ZodType = z.ZodUndefined>(
    spec: RouteSpec<P, Q, B>,
  ): void {
    const access = spec.access ?? (spec.method === 'get' ? 'read' : 'write');
    const status = spec.status ?? (spec.method === 'post' ? 201 : 200);
    this.register(spec, access, status);

    const handlers: RequestHandler[] = [];
    if (access !== 'public') {
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
      const body = spec.body ? parseOrThrow(spec.body, req.body, 'body') : undefined;
      const result = await spec.handler({
        req,
        res,
        params: (params?.data ?? {}) as z.output<P>,
        query: query as z.output<Q>,
        body: body as z.output<B>,
        auth: access === 'public' ? (undefined as unknown as AuthContext) : getAuth(req),
        scope: access === 'public' ? { clientId: null } : getScope(req),
      });
      if (res.headersSent) return;
      if (result === undefined) res.status(status === 201 || status === 200 ? 204 : status).end();
      else res.status(status).json(result);
    });
    this.router[spec.method](spec.path, ...handlers);
  }

  /**
   * Documents a route another router mounts under /api (it validates and answers on its own);
   * the OpenAPI test fails for any /api route that is neither declared through route() nor here.
   */
  document(spec: Pick<RouteSpec<AnyObject, AnyObject, z.ZodType>, 'method' | 'path' | 'summary' | 'tag' | 'access' | 'params' | 'query' | 'body' | 'status' | 'response' | 'errors'>): void {
    const access = spec.access ?? (spec.method === 'get' ? 'read' : 'write');
    this.register({ ...spec, handler: async () => undefined }, access, spec.status ?? (spec.method === 'post' ? 201 : 200));
  }

  private register(spec: RouteSpec<AnyObject, AnyObject, z.ZodType>, access: string, status: number): void {
    const errorResponses: Record<string, { description: string; content: { 'application/json': { schema: typeof errorSchema } } }> = {};
    const codes = new Set([400, ...(access === 'public' ? [] : [401, 403, 404]), ...(spec.errors ?? [])]);
    for (const code of codes) errorResponses[String(code)] = { description: 'Error', content: { 'application/json': { schema: errorSchema } } };
    const success = spec.responseContentType
      ? { description: 'OK', content: { [spec.responseContentType]: { schema: z.string() } } }
      : spec.response
        ? { description: 'OK', content: { 'application/json': { schema: spec.response } } }
        : { description: 'OK' };
    const body = spec.upload
      ? { description: spec.upload.description, content: { [spec.upload.contentType]: { schema: z.object({ file: z.string() }) } } }
      : spec.body
        ? { content: { 'application/json': { schema: spec.body } } }
        : undefined;
    this.registry.registerPath({
      method: spec.method,
      path: toOpenApiPath(this.prefix + spec.path),
      summary: spec.summary,
      tags: [spec.tag],
      security: access === 'public' ? [] : [{ bearerAuth: [] }],
      request: {
        ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
        ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
        ...(body ? { body } : {}),
      },
      responses: { [String(status)]: success, ...errorResponses },
    });
  }
}

/** `clientId` in the query is the owner's scope selector (read by authenticate), not a route field. */
function stripClientId(query: Request['query'], access: string): Record<string, unknown> {
  if (access === 'public') return { ...query };
  const { clientId: _ignored, ...rest } = query as Record<string, unknown>;
  return rest;
}
