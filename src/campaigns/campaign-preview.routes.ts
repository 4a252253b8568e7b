/** Campaign preview and test send: one step rendered for one contact, exactly as it would go out. */
import { z } from 'zod';
import { getAccount } from '../accounts/account.repository';
import { scopeOf } from '../auth/client-scope';
import { getClient } from '../clients/client.repository';
import type { Config } from '../config';
import { getContact, type ContactRow } from '../contacts/contact.repository';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import { campaignAudit } from './campaign-audit';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { emailAddress, idParams, uuid } from '../http/validation';
import { newMessageId } from '../queue/enqueue';
import { gmailEndpoints, openAccountTransport } from '../sending/account-transport';
import { buildMessage, MessageBuildError } from '../sending/message-builder';
import { trackingSignerFor } from '../tracking/tracking-signer';
import type { ContactFields } from '../sending/template';
import { missingValues, templateProblems } from '../sending/template-problems';
import { listSenderIds, listSteps, type StepRow } from './campaign.repository';
import { campaignOr404 as mustGet } from './campaign.service';

const problemOut = z.object({
  field: z.enum(['subject', 'bodyHtml', 'bodyText']),
  code: z.string().describe('unclosed_spintax, unopened_brace, unclosed_variable, invalid_variable (errors); empty_alternative, missing_value (warnings)'),
  severity: z.enum(['error', 'warning']),
  message: z.string(),
  position: z.object({ index: z.number().int(), line: z.number().int(), column: z.number().int() }),
  variable: z.string().optional(),
});

/** The problems of a step's three templates, and the variables this contact has no value for. */
function stepProblems(step: StepRow, contact: ContactRow): Array<z.infer<typeof problemOut>> {
  const fields: ContactFields = { email: contact.email, first_name: contact.first_name, last_name: contact.last_name, company: contact.company, custom_fields: contact.custom_fields ?? {} };
  return (
    [
      ['subject', step.subject],
      ['bodyHtml', step.body_html],
      ['bodyText', step.body_text],
    ] as const
  ).flatMap(([field, template]) => [...templateProblems(template), ...missingValues(template, fields)].map((problem) => ({ field, ...problem })));
}

export function registerCampaignPreviewRoutes(api: ApiRouter, db: Db, config: Config): void {
  const audit: RouteAudit<unknown> = campaignAudit(db);
  const signer = trackingSignerFor(config);
  const cipher = createCredentialCipher(config.credentialKeys);

  api.route({
    method: 'get',
    path: '/campaigns/:id/steps/:stepNumber/preview',
    operationId: 'previewCampaignStep',
    tag: 'campaigns',
    summary: "Render one step for one contact, exactly as it would be sent, with the template's problems for that contact (a variable it has no value for, an empty spintax choice)",
    params: z.object({ id: uuid, stepNumber: z.coerce.number().int().min(1).max(100) }),
    query: z.object({ contactId: uuid }),
    response: z.object({
      from: z.string(),
      to: z.string(),
      subject: z.string(),
      html: z.string(),
      text: z.string(),
      headers: z.record(z.string(), z.string()),
      problems: z.array(problemOut).describe('Warnings for this contact; errors answer 422 template_problems with the same list'),
    }),
    errors: [422],
    handler: async ({ scope, params, query }) => {
      const campaign = await mustGet(db, scope, params.id);
      const step = (await listSteps(db, campaign.id)).find((s) => s.step_number === params.stepNumber);
      if (!step) throw new AppError(404, 'not_found', 'Step not found');
      // The contact must belong to the campaign's client: a foreign id is simply not found.
      const contact = await getContact(db, scopeOf(campaign.client_id), query.contactId);
      if (!contact) throw new AppError(404, 'not_found', 'Contact not found');
      const client = await getClient(db, scopeOf(campaign.client_id), campaign.client_id);
      const senderIds = await listSenderIds(db, campaign.id);
      const account = senderIds[0] ? await getAccount(db, scopeOf(campaign.client_id), senderIds[0]) : undefined;
      const problems = stepProblems(step, contact);
      if (problems.some((p) => p.severity === 'error')) {
        throw new AppError(422, 'template_problems', 'The step has template errors: it cannot be sent', { problems });
      }
      try {
        const message = buildMessage({
          client: { id: campaign.client_id, name: client?.name ?? '', postal_address: client?.postal_address ?? '' },
          account: account ?? { id: '00000000-0000-0000-0000-000000000000', email: 'sender@example.invalid', display_name: '' },
          campaign,
          step,
          contact,
          queue: { id: 0, message_id: '<preview@preview.invalid>', to_email: contact.email },
          signer,
        });
        return { from: message.from.address, to: message.to, subject: message.subject, html: message.html, text: message.text, headers: message.headers, problems };
      } catch (error) {
        if (error instanceof MessageBuildError) throw new AppError(422, 'cannot_render', error.message);
        throw error;
      }
    },
  });
  api.route({
    method: 'post',
    path: '/campaigns/:id/test-send',
    operationId: 'sendCampaignTestMessage',
    tag: 'campaigns',
    audit,
    summary: 'Send one step, rendered for a contact, to a test address through a sender of the pool',
    params: idParams,
    body: z.object({ stepNumber: z.number().int().min(1).max(100), to: emailAddress, contactId: uuid, accountId: uuid.optional() }).strict(),
    status: 200,
    response: z.object({ outcome: z.string(), code: z.number().optional(), response: z.string(), accountId: z.uuid(), messageId: z.string() }),
    errors: [422],
    handler: async ({ scope, params, body }) => {
      const campaign = await mustGet(db, scope, params.id);
      const own = scopeOf(campaign.client_id);
      const step = (await listSteps(db, campaign.id)).find((s) => s.step_number === body.stepNumber);
      if (!step) throw new AppError(404, 'not_found', 'Step not found');
      const contact = await getContact(db, own, body.contactId);
      if (!contact) throw new AppError(404, 'not_found', 'Contact not found');
      const accountId = body.accountId ?? (await listSenderIds(db, campaign.id))[0];
      const account = accountId ? await getAccount(db, own, accountId) : undefined;
      if (!account) throw new AppError(accountId ? 404 : 422, accountId ? 'not_found' : 'no_sender', accountId ? 'Account not found' : 'The campaign has no sender account');
      const client = await getClient(db, own, campaign.client_id);
      const messageId = newMessageId(account.email.slice(account.email.lastIndexOf('@') + 1));
      let message;
      try {
        message = buildMessage({
          client: { id: campaign.client_id, name: client?.name ?? '', postal_address: client?.postal_address ?? '' },
          account,
          campaign,
          step,
          contact,
          // Queue id 0: the test message's tracking links resolve to nothing and count nothing.
          queue: { id: 0, message_id: messageId, to_email: body.to },
          signer,
        });
      } catch (error) {
        if (error instanceof MessageBuildError) throw new AppError(422, 'cannot_render', error.message);
        throw error;
      }
      message.subject = `[Test] ${message.subject}`;
      let transport;
      try {
        transport = await openAccountTransport(db, account.id, cipher, { sink: { host: config.sink.host, port: config.sink.port }, db, ...gmailEndpoints(config) });
      } catch (error) {
        // The message names the field that is wrong, never a credential value.
        throw new AppError(422, 'transport_unavailable', `The account cannot send: ${(error as Error).message}`);
      }
      if (!transport) throw new AppError(404, 'not_found', 'Account not found');
      try {
        const result = await transport.send(message);
        return { outcome: result.outcome, ...(result.code === undefined ? {} : { code: result.code }), response: result.response, accountId: account.id, messageId };
      } finally {
        await transport.close();
      }
    },
  });
}
