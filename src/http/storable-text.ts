/**
 * Text Postgres cannot store, refused at the edge with the field named instead of failing in
 * a query as a 500:
 *   - NUL (U+0000): text columns refuse it (22021), jsonb refuses `\u0000` (22P05);
 *   - an unpaired UTF-16 surrogate (JSON text "\ud800"): a valid JavaScript string but not
 *     Unicode; jsonb refuses it (22P05), and a text column would silently get U+FFFD instead.
 * Object keys are checked too (they become jsonb keys).
 */
import { AppError } from './app-error';
import type { FieldIssue } from './validation';

// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Enough to point at the problem; a hostile body could otherwise make the answer huge. */
const MAX_ISSUES = 20;

export function isUnstorableText(value: string): boolean {
  return UNSTORABLE.test(value);
}

export function unstorableTextMessage(value: string): string {
  return value.includes('\u0000') ? 'must not contain a NUL character (U+0000)' : 'must not contain an unpaired UTF-16 surrogate (not valid Unicode)';
}

interface Visit {
  value: unknown;
  key: string | undefined;
  parent: Visit | undefined;
}

function pathOf(visit: Visit, prefix: string | undefined): string {
  const parts: string[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) parts.push(at.key);
  if (prefix) parts.push(prefix);
  return parts.reverse().join('.');
}

/**
 * Every string (and object key) in `value` that cannot be stored, by its path in the form
 * zod's issues use (`steps.0.body`), under `prefix` ('query') when given. Iterative, so a
 * deeply nested JSON body cannot overflow the stack.
 */
export function unstorableTextIssues(value: unknown, prefix?: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const pending: Visit[] = [{ value, key: undefined, parent: undefined }];
  while (pending.length > 0 && issues.length < MAX_ISSUES) {
    const visit = pending.pop()!;
    const current = visit.value;
    if (typeof current === 'string') {
      if (isUnstorableText(current)) issues.push({ path: pathOf(visit, prefix), message: unstorableTextMessage(current) });
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push({ value: current[i], key: String(i), parent: visit });
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        if (isUnstorableText(key)) issues.push({ path: pathOf(visit, prefix), message: `a key ${unstorableTextMessage(key)}` });
        pending.push({ value: child, key, parent: visit });
      }
    }
  }
  return issues.slice(0, MAX_ISSUES);
}

/** Throws the API's 400 `validation_failed` naming every field of `value` that cannot be stored. */
export function refuseUnstorableText(value: unknown, where: 'body' | 'query'): void {
  const issues = unstorableTextIssues(value, where === 'body' ? undefined : where);
  if (issues.length > 0) throw new AppError(400, 'validation_failed', `Invalid ${where}`, { issues });
}
