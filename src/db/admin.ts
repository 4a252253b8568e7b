import pg from 'pg';

/** Connection string for another database on the same server. */
export function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Creates `database` on the server of `adminUrl` unless it exists; optional template. */
export async function ensureDatabase(adminUrl: string, database: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount) return;
    await client.query(`create database ${quoteIdent(database)}${template ? ` template ${quoteIdent(template)}` : ''}`);
  } catch (error) {
    // Two processes creating the same database at once: the loser sees a duplicate.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${quoteIdent(database)} with (force)`);
  } finally {
    await client.end();
  }
}
