/**
 * POST /api/accounts/:id/verify: tries the account's login against its provider the way a send
 * would (SMTP: connect, TLS, AUTH; Gmail: token exchange and a profile read), sends nothing and
 * changes nothing about the account. The answer says whether it worked or what failed, classified
 * like a send (class, reason, codes, the provider's reply), never a credential.
 */
import { z } from 'zod';
import type { Config } from '../config';
import type { CredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ClientScope } from '../auth/client-scope';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { idParams } from '../http/validation';
import { gmailEndpoints } from '../sending/account-transport';
import { loadTransport, TransportConfigError } from '../transports/load-transport';
import type { SendResult, Transport } from '../transports/transport';
import { getAccount, getAccountCredentials } from './account.repository';

const verifyOut = z.object({
  ok: z.boolean(),
  transport: z.enum(['smtp', 'gmail', 'sink']),
  class: z
    .string()
    .nullable()
    .describe('null when ok; else what failed: auth (credentials refused), transient (connection, TLS, timeout), sender_reputation, … or config (stored settings unusable)'),
  reason: z.string().nullable(),
  stage: z.string().nullable().describe('connect, auth or api, when known'),
  code: z.number().nullable().describe('SMTP reply code or HTTP status'),
  enhancedCode: z.string().nullable(),
  response: z.string().describe("The provider's reply, or what is wrong with the stored settings"),
});

type VerifyOut = z.infer<typeof verifyOut>;

function present(transport: VerifyOut['transport'], result: SendResult): VerifyOut {
  const ok = result.outcome === 'accepted';
  return {
    ok,
    transport,
    class: ok ? null : result.outcome,
    reason: result.reason ?? null,
    stage: result.stage ?? null,
    code: result.code ?? null,
    enhancedCode: result.enhancedCode ?? null,
    response: result.response,
  };
}

export function registerAccountVerifyRoute(api: ApiRouter, db: Db, config: Config, cipher: CredentialCipher): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getAccount(db, scope, id) };
  api.route({
    method: 'post',
    path: '/accounts/:id/verify',
    operationId: 'verifyAccount',
    tag: 'accounts',
    audit,
    summary: "Try the account's login against its provider (SMTP AUTH, Gmail token exchange); sends nothing, changes nothing",
    params: idParams,
    status: 200,
    response: verifyOut,
    handler: async ({ scope, params }) => {
      const account = await getAccount(db, scope, params.id);
      if (!account) throw new AppError(404, 'not_found', 'Account not found');
      const encrypted = await getAccountCredentials(db, scope, account.id);
      let transport: Transport;
      try {
        transport = loadTransport(account, encrypted ? cipher.decrypt(encrypted) : undefined, {
          sink: { host: config.sink.host, port: config.sink.port },
          ...gmailEndpoints(config),
          maxSendMs: config.sending.maxSendMs,
        });
      } catch (error) {
        // Its message names the field that is wrong, never a value.
        if (!(error instanceof TransportConfigError)) throw error;
        return { ok: false, transport: account.transport, class: 'config', reason: null, stage: null, code: null, enhancedCode: null, response: error.message };
      }
      try {
        return present(account.transport, await transport.verify());
      } finally {
        await transport.close();
      }
    },
  });
}
