/** The open pixel: a 43-byte transparent GIF that no cache may keep (each fetch is an open). */
import type { ServerResponse } from 'node:http';

export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

const PIXEL_HEADERS = {
  'Content-Type': 'image/gif',
  'Content-Length': String(TRANSPARENT_GIF.length),
  'Cache-Control': 'no-store, no-cache, must-revalidate, private, max-age=0',
  Pragma: 'no-cache',
  Expires: '0',
};

/** Written straight to the socket: no ETag, no content negotiation, whatever happened before. */
export function sendPixel(res: ServerResponse, method = 'GET'): void {
  res.writeHead(200, PIXEL_HEADERS);
  res.end(method === 'HEAD' ? undefined : TRANSPARENT_GIF);
}
