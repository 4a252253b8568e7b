/**
 * Re-encrypting every stored credential with the newest key of CREDENTIALS_KEYS, so an old key
 * can be dropped from the list afterwards. Every column sealed by ./credential-cipher.ts is
 * named here (a test checks that every `*_encrypted` column of the schema is). One transaction
 * per table, rows locked while they are rewritten; running it again changes nothing.
 */
import { sql } from 'kysely';
import type { DbOrTx, Db } from '../db/connection';
import type { CredentialCipher } from './credential-cipher';

export interface SealedColumns {
  table: string;
  /** How the report names it. */
  label: string;
  columns: string[];
}

export const SEALED_COLUMNS: SealedColumns[] = [
  { table: 'sender_accounts', label: 'accounts', columns: ['credentials_encrypted'] },
  { table: 'sender_domains', label: 'domains', columns: ['dkim_private_key_encrypted', 'bounce_mailbox_secret_encrypted'] },
  { table: 'alert_channels', label: 'alert channels', columns: ['secret_encrypted'] },
  { table: 'webhook_endpoints', label: 'webhook endpoints', columns: ['verification_key_encrypted'] },
  { table: 'sponsors', label: 'sponsors', columns: ['delivery_secret_encrypted'] },
];

export interface RotationCount {
  label: string;
  /** Rows with at least one value re-encrypted. */
  reEncrypted: number;
  /** Rows with sealed values that were all under the newest key already. */
  alreadyCurrent: number;
}

type SealedRow = { id: string } & Record<string, string | null>;

async function rotateTable(tx: DbOrTx, target: SealedColumns, cipher: CredentialCipher): Promise<RotationCount> {
  const columns = sql.join(target.columns.map((c) => sql.ref(c)));
  const anySealed = sql.join(target.columns.map((c) => sql`${sql.ref(c)} is not null`), sql` or `);
  const { rows } = await sql<SealedRow>`select id, ${columns} from ${sql.table(target.table)} where ${anySealed} order by id for update`.execute(tx);
  const count: RotationCount = { label: target.label, reEncrypted: 0, alreadyCurrent: 0 };
  for (const row of rows) {
    const changes = target.columns.flatMap((column) => {
      const sealed = row[column];
      if (!sealed || !cipher.needsRotation(sealed)) return [];
      try {
        return [sql`${sql.ref(column)} = ${cipher.encrypt(cipher.decrypt(sealed))}`];
      } catch (error) {
        // Never the value: only where it is. The table's transaction rolls back.
        throw new Error(`${target.table}.${column} of row ${row.id}: ${(error as Error).message}`, { cause: error });
      }
    });
    if (changes.length === 0) {
      count.alreadyCurrent += 1;
      continue;
    }
    await sql`update ${sql.table(target.table)} set ${sql.join(changes)} where id = ${row.id}`.execute(tx);
    count.reEncrypted += 1;
  }
  return count;
}

/** Rotates table by table; a table that fails stops the run, the tables before it stay rotated. */
export async function rotateCredentials(db: Db, cipher: CredentialCipher, tables: SealedColumns[] = SEALED_COLUMNS): Promise<RotationCount[]> {
  const counts: RotationCount[] = [];
  for (const target of tables) counts.push(await db.transaction().execute((tx) => rotateTable(tx, target, cipher)));
  return counts;
}

export function describeRotation(counts: RotationCount[]): string {
  return counts.map((c) => `${c.label}: ${c.reEncrypted} re-encrypted, ${c.alreadyCurrent} already current`).join('\n');
}
