/**
 * Shared zod building blocks for the admin API. Names, subjects and other values that can end
 * up in a mail header are single-line: CR/LF (header injection) is a 400 like any other bad
 * field, reported with its path.
 */
import { z } from 'zod';
import { hasControlChars, normalizeEmail } from '../contacts/email-address';
import { AppError } from './app-error';

export const uuid = z.uuid();

/** A value that may be placed in a mail header: no CR, LF or other control characters. */
export const singleLine = (max = 200) =>
  z
    .string()
    .max(max)
    .refine((value) => !hasControlChars(value), { message: 'must not contain line breaks or control characters' });

export const nonEmptyLine = (max = 200) =>
  singleLine(max).refine((value) => value.trim().length > 0, { message: 'must not be empty' });

export const emailAddress = z
  .string()
  .max(254)
  .transform((value, ctx) => {
    const normalized = normalizeEmail(value);
    if (!normalized) {
      ctx.addIssue({ code: 'custom', message: 'not a valid email address' });
      return z.NEVER;
    }
    return normalized;
  });

export const idParams = z.object({ id: uuid });

export interface FieldIssue {
  path: string;
  message: string;
}

/** Each failing field's path and message; a custom check's `params` add to it (a template problem's code and position). */
export function fieldIssues(error: z.ZodError, prefix?: string): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((part) => part !== undefined && part !== '').join('.'),
    message: issue.message,
    ...(issue.code === 'custom' && issue.params ? issue.params : {}),
  }));
}

/** Parses `value` or throws the API's 400 with every failing field path in details. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError(400, 'validation_failed', `Invalid ${where}`, { issues: fieldIssues(result.error, where === 'body' ? undefined : where) });
  }
  return result.data;
}
