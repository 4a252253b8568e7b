/**
 * A local HTTP peer standing in for Telegram's Bot API, a Slack incoming webhook or a webhook
 * receiver: records every request (path, headers, body) and answers the next status scripted
 * for its path (200 once that script runs out).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PeerRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpPeer {
  url: string;
  port: number;
  requests: PeerRequest[];
  /** Statuses for the next requests to `path`, in order. */
  answer(path: string, ...statuses: number[]): void;
  close(): Promise<void>;
}

export async function startHttpPeer(): Promise<HttpPeer> {
  const requests: PeerRequest[] = [];
  const scripts = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = scripts.get(req.url ?? '')?.shift() ?? 200;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ok: status === 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    answer: (path, ...statuses) => scripts.set(path, [...(scripts.get(path) ?? []), ...statuses]),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
