/**
 * POST /api/erasures: erase a person by address (erasure.service.ts). A client admin erases
 * within its own client; the owner within one client (clientId in the body or ?clientId=) or,
 * naming none, across every client. The answer counts what went, per table. The request's
 * audit row keeps the address' keyed hash, never the address.
 */
import { z } from 'zod';
import { clientExists } from '../clients/client.repository';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { emailAddress, uuid } from '../http/validation';
import { addressHash } from './address-hash';
import { eraseAddress } from './erasure.service';

const erasureBody = z.object({ email: emailAddress, clientId: uuid.optional().describe('Owner only: one client (default: every client)') }).strict();

const erasureOut = z.object({
  addressHash: z.string().describe('The keyed hash kept on the suppression list (as erased:<hash>)'),
  clients: z.number().int().describe('Clients whose data was searched (each keeps one hashed suppression)'),
  counts: z.record(z.string(), z.number().int()).describe('Rows deleted (or, for *_redacted, rewritten) per table'),
});

export function registerErasureRoutes(api: ApiRouter, db: Db, config: Config): void {
  api.route({
    method: 'post',
    path: '/erasures',
    operationId: 'eraseContact',
    tag: 'erasure',
    summary: "Erase a person: their address out of every table (contacts, queue, events, inbound mail, leads, sink), only its keyed hash kept on the suppression list",
    body: erasureBody,
    status: 200,
    response: erasureOut,
    audit: {
      changes: (body) => {
        const { email, clientId } = body as z.output<typeof erasureBody>;
        return { addressHash: addressHash(config.addressHashKey, email), ...(clientId ? { clientId } : {}) };
      },
    },
    handler: async ({ auth, scope, body }) => {
      // A client user is pinned to its client (scope); the owner may name one or none.
      const clientId = scope.clientId ?? body.clientId ?? null;
      if (scope.clientId !== null && body.clientId !== undefined && body.clientId !== scope.clientId) {
        throw new AppError(404, 'not_found', 'Client not found');
      }
      if (clientId !== null && !(await clientExists(db, clientId))) throw new AppError(404, 'not_found', 'Client not found');
      return eraseAddress(db, config.addressHashKey, { email: body.email, clientId }, { type: 'user', id: auth.userId });
    },
  });
}
