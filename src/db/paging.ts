/**
 * Reads one page of a list query and the count of all its rows (the paging contract of
 * src/http/paging.ts). The count reuses the query's joins and filters without its selection,
 * order, limit and offset; it is skipped when the page itself shows where the list ends.
 */
import { sql, type SelectQueryBuilder } from 'kysely';

export interface Page {
  limit: number;
  offset: number;
}

/** A page as repositories return it: its rows and the count of every matching row. */
export interface PageRows<T> {
  rows: T[];
  total: number;
}

export async function selectPage<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, page: Page): Promise<PageRows<O>> {
  const rows = await query.limit(page.limit).offset(page.offset).execute();
  return { rows, total: await countAll(query, page, rows.length) };
}

/**
 * How many rows `query` matches on all pages, given that its page at `page` held `pageLength`
 * rows: a short page that holds rows (or the empty first page) is the last one, and its end is
 * the total; otherwise one count(*) over the query's joins and filters.
 */
export async function countAll<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, page: Page, pageLength: number): Promise<number> {
  if (pageLength < page.limit && (pageLength > 0 || page.offset === 0)) return page.offset + pageLength;
  const counted = await query.clearSelect().clearOrderBy().clearLimit().clearOffset().select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow();
  return (counted as { total: number }).total;
}

/** `text` as a literal inside a LIKE pattern: its % _ and \ escaped. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A LIKE pattern matching values that contain `text`. */
export function containing(text: string): string {
  return `%${likeLiteral(text)}%`;
}
