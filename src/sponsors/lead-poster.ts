/**
 * The one HTTP request of a lead delivery: a POST to the sponsor's URL over node:http(s),
 * whose connection resolves names through checkedLookup() and refuses IP literals outside the
 * allow-list before connecting (delivery-address.ts: SSRF, DNS rebinding). Node's fetch
 * offers no hook on the address it connects to; node:http does (`lookup`). Redirects are not
 * followed: a redirect is not a delivery, and following it could send the lead elsewhere.
 */
import http from 'node:http';
import https from 'node:https';
import { checkedLookup, refusedLiteralHost, type DeliveryHostPolicy } from './delivery-address';

export interface LeadPostRequest {
  headers: Record<string, string>;
  body: string;
  /** Ends the request (AbortSignal.timeout: the delivery timeout). */
  signal: AbortSignal;
}

/** Resolves with the HTTP status of the answer; rejects when there is none (refused, network, timeout: the signal's reason). */
export type LeadPoster = (url: string, request: LeadPostRequest) => Promise<number>;

export function createLeadPoster(policy: DeliveryHostPolicy): LeadPoster {
  const lookup = checkedLookup(policy);
  return (url, { headers, body, signal }) =>
    new Promise<number>((resolve, reject) => {
      const target = new URL(url);
      const refused = refusedLiteralHost(target, policy);
      if (refused) return reject(new Error(`refused: ${refused}`));
      const send = target.protocol === 'https:' ? https.request : http.request;
      // agent: false: a connection of its own, never a pooled one another lookup opened.
      const request = send(target, { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, lookup, signal, agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', (error) => reject(signal.aborted ? signal.reason : error));
      request.end(body);
    });
}
