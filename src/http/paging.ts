/**
 * The one paging contract of the admin API's list routes. A list takes `?limit=` (1–500,
 * default 100) and `?offset=` (≥ 0, default 0) next to its filters, and answers its named
 * array (`accounts`, `campaigns`, …, as before) with `total` (the rows matching the filters,
 * across all pages) and the `limit` and `offset` it applied: page with `offset += limit` while
 * `offset < total`. Keeping each route's array name kept every existing client working.
 *
 * The two log-like lists that keep growing while being read (a campaign's queue rows, the dev
 * sink's mail) page by keyset cursor instead, where an offset would skip or repeat rows.
 */
import { z } from 'zod';
import type { Page, PageRows } from '../db/paging';

export const MAX_PAGE_LIMIT = 500;

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(100).describe(`Rows per page (1–${MAX_PAGE_LIMIT})`),
  offset: z.coerce.number().int().min(0).default(0).describe('Rows to skip: the previous offset plus limit'),
});

export type { Page, PageRows };

/** The OpenAPI/zod shape of a list answer: `{<key>: item[], total, limit, offset}`. */
export function pagedResponse<K extends string, T extends z.ZodType>(key: K, item: T, extra: z.ZodRawShape = {}) {
  return z.object({
    ...extra,
    [key]: z.array(item),
    total: z.number().int().describe('Rows matching the filters, across all pages'),
    limit: z.number().int(),
    offset: z.number().int(),
  } as { [P in K]: z.ZodArray<T> } & { total: z.ZodNumber; limit: z.ZodNumber; offset: z.ZodNumber });
}

/** A list answer in the paging contract, each row presented by `present`. */
export function paged<K extends string, R, T>(key: K, page: Page, result: PageRows<R>, present: (row: R) => T): { [P in K]: T[] } & { total: number; limit: number; offset: number } {
  return { [key]: result.rows.map(present), total: result.total, limit: page.limit, offset: page.offset } as { [P in K]: T[] } & { total: number; limit: number; offset: number };
}
