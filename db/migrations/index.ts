/**
 * Every migration, in order. Listed statically (not read from the directory) so the same
 * list works from TypeScript sources in tests and from compiled JavaScript in production.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
};
