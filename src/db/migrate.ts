import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { migrations } from '../../db/migrations';

/**
 * Applies pending migrations. Kysely's migrator takes an advisory lock, so two servers
 * starting at once apply each migration once; re-running applies nothing.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before and outside the typed schema
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${message}`.replace('  ', ' '));
  }
  return results ?? [];
}
