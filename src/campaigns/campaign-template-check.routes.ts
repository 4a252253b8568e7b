/**
 * POST /campaigns/template-check: the template problems of steps not saved yet, so the builder
 * can flag a broken placeholder next to the field while it is typed, with the same reader
 * (sending/template-problems.ts) that refuses the save and that the worker renders with.
 * Nothing is stored; no contact is involved (the preview lists a contact's missing values).
 */
import { z } from 'zod';
import type { ApiRouter } from '../http/api-router';
import { templateProblems } from '../sending/template-problems';

const FIELDS = ['subject', 'bodyHtml', 'bodyText'] as const;

const problemOut = z.object({
  field: z.enum(FIELDS),
  code: z.string().describe('unclosed_spintax, unopened_brace, unclosed_variable, invalid_variable (errors); empty_alternative (warning)'),
  severity: z.enum(['error', 'warning']),
  message: z.string(),
  position: z.object({ index: z.number().int(), line: z.number().int(), column: z.number().int() }),
});

export function registerCampaignTemplateCheckRoute(api: ApiRouter): void {
  api.route({
    method: 'post',
    path: '/campaigns/template-check',
    operationId: 'checkCampaignTemplates',
    tag: 'campaigns',
    summary: 'List the template problems of steps being edited (nothing is saved): errors refuse a save, warnings do not',
    body: z
      .object({
        steps: z
          .array(z.object({ subject: z.string().max(998).default(''), bodyHtml: z.string().max(200_000).default(''), bodyText: z.string().max(200_000).default('') }).strict())
          .min(1)
          .max(20),
      })
      .strict(),
    status: 200,
    response: z.object({ steps: z.array(z.object({ problems: z.array(problemOut) })) }),
    handler: async ({ body }) => ({
      steps: body.steps.map((step) => ({ problems: FIELDS.flatMap((field) => templateProblems(step[field]).map(({ variable: _v, ...problem }) => ({ field, ...problem }))) })),
    }),
  });
}
