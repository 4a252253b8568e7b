/**
 * The open pixel, answered before Express routes anything. It is by far the most frequent
 * request (every open, every proxy prefetch), and Express's routing plus a per-request
 * rate-limit library cost about three quarters of its throughput (measured: bare node:http
 * 16.8k req/s, Express route 3.7k, + express-rate-limit 2.3k). So this path does the same
 * work by hand, cheaply:
 *   - helmet's headers, computed once from helmet itself (they are the same on every response);
 *   - a per-IP fixed-window counter (over the limit: still the GIF, nothing recorded);
 *   - the client IP as Express's req.ip gives it, with the same compiled `trust proxy`
 *     (server.trustProxy): the nearest address, walking from the peer back through
 *     X-Forwarded-For, that is not a trusted proxy;
 *   - token check, automation check, and a push into the batched event writer.
 * Whatever happens, the answer is the GIF.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger';
import type { AutomationDetector } from './automation-detector';
import { normaliseIp } from './automation-detector';
import { TRANSPARENT_GIF } from './pixel';
import type { TrackingEventWriter } from './tracking-event.writer';
import type { TrackingSigner } from './tracking-token';

const PREFIX = '/t/o/';
const SUFFIX = '.gif';
const MAX_USER_AGENT_CHARS = 512;
const WINDOW_MS = 60_000;

/** Express's compiled `trust proxy` (app.get('trust proxy fn')): is the address `i` hops away a trusted proxy? */
export type TrustProxy = (address: string, hop: number) => boolean;

export interface PixelFastPathDeps {
  signer: TrackingSigner;
  trustProxy: TrustProxy;
  detector: AutomationDetector;
  events: TrackingEventWriter;
  logger: Logger;
  limitPerMinute: number;
  /** helmet's middleware; run once on a recording response to learn its headers. */
  securityHeaders: RequestHandler;
}

function headersOf(middleware: RequestHandler): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name] = String(value)),
    removeHeader: (name: string) => void delete headers[name],
    getHeader: (name: string) => headers[name],
  };
  middleware({ headers: {} } as never, recorder as never, () => undefined);
  return headers;
}

/**
 * The same answer as Express's req.ip (proxy-addr): the peer, then the X-Forwarded-For hops
 * from the nearest; the first address that is not trusted is the client (or the farthest).
 */
export function clientIp(req: IncomingMessage, trust: TrustProxy): string | undefined {
  const peer = req.socket.remoteAddress;
  const forwarded = req.headers['x-forwarded-for'];
  if (!peer || !forwarded) return peer;
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',').map((hop) => hop.trim()).reverse();
  const addresses = [peer, ...hops];
  for (let i = 0; i < addresses.length - 1; i++) if (!trust(addresses[i] as string, i)) return addresses[i];
  return addresses[addresses.length - 1];
}

/** Returns a handler that answers pixel requests and returns true, or returns false for anything else. */
export function createPixelFastPath(deps: PixelFastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { signer, detector, events, logger, limitPerMinute } = deps;
  const headers = {
    ...headersOf(deps.securityHeaders),
    'Content-Type': 'image/gif',
    'Content-Length': String(TRANSPARENT_GIF.length),
    'Cache-Control': 'no-store, no-cache, must-revalidate, private, max-age=0',
    Pragma: 'no-cache',
    Expires: '0',
  };
  let counts = new Map<string, number>();
  const reset = setInterval(() => (counts = new Map()), WINDOW_MS);
  reset.unref();

  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX) || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    try {
      const end = url.indexOf('?');
      const file = end === -1 ? url.slice(PREFIX.length) : url.slice(PREFIX.length, end);
      const payload = file.endsWith(SUFFIX) ? signer.verify(file.slice(0, -SUFFIX.length), 'open') : undefined;
      if (payload) {
        const ip = normaliseIp(clientIp(req, deps.trustProxy));
        const key = ip ?? '';
        const seen = (counts.get(key) ?? 0) + 1;
        counts.set(key, seen);
        if (seen <= limitPerMinute) {
          const rawAgent = req.headers['user-agent'];
          const userAgent = rawAgent ? rawAgent.replace(/\0/g, '').slice(0, MAX_USER_AGENT_CHARS) : null;
          events.recordOpen({ queueId: payload.queueId, ip, userAgent, automatedReason: detector.classify(req.method, ip, userAgent), occurredAt: new Date() });
        }
      }
    } catch (error) {
      logger.warn('open not recorded', { error: (error as Error).message });
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : TRANSPARENT_GIF);
    return true;
  };
}

type HandleFn = (req: IncomingMessage, res: ServerResponse, callback?: unknown) => void;

/**
 * Puts the pixel in front of the Express app itself. An Express app is a function that calls
 * `app.handle(req, res, next)`, so wrapping `handle` covers http.createServer(app) and
 * supertest alike, and every other request goes through Express unchanged.
 */
export function installPixelFastPath(app: object, fastPath: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const target = app as { handle: HandleFn };
  const handle = target.handle.bind(app);
  target.handle = (req, res, callback) => {
    if (!fastPath(req, res)) handle(req, res, callback);
  };
}
