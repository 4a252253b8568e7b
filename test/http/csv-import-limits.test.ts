/**
 * Every CSV importer (contacts, suppressions, accounts) reads through the one bounded reader:
 * a file that breaks CSV or one of the imports.* limits is a 400 naming the line (and
 * column), nothing of it is imported, and a good file still imports fully. Small limits
 * here (set through the config) keep the files small; the compiled server with the default
 * limits and very large files is csv-upload-memory.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from './admin-api.helpers';

const t = useTestDatabase();

const config = testConfig();
Object.assign(config.imports, { maxRecordBytes: 4096, maxFieldBytes: 1024, maxColumns: 20, maxRows: 50, maxCsvBytes: 64 * 1024 });

interface Importer {
  name: string;
  path: string;
  header: string;
  /** A valid data row for the i-th address. */
  row(i: number): string;
  /** How many of this importer's things client A has. */
  stored(): Promise<number>;
}

const count = async (table: 'contacts' | 'suppressions' | 'sender_accounts', clientId: string) =>
  Number((await t.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('client_id', '=', clientId).executeTakeFirstOrThrow()).n);

let world: World;
const importers: Importer[] = [
  {
    name: 'contacts',
    path: '/api/contacts/import',
    header: 'email,first_name,company',
    row: (i) => `contact${i}@example.com,Ann ${i},"Acme, ""Inc"" ${i}"`,
    stored: () => count('contacts', world.a.clientId),
  },
  {
    name: 'suppressions',
    path: '/api/suppressions/import',
    header: 'email,note',
    row: (i) => `stop${i}@example.com,"asked, twice ${i}"`,
    stored: () => count('suppressions', world.a.clientId),
  },
  {
    name: 'accounts',
    path: '/api/accounts/import',
    header: 'email,display_name,smtp_host,smtp_user,smtp_password',
    row: (i) => `box${i}@mail.example.com,"Box ""${i}""",smtp.example.com,box${i},pw-${i}`,
    stored: () => count('sender_accounts', world.a.clientId),
  },
];

/** Bad third lines (after a header and one good row) and where the reader must say the problem is. */
const badLines: Array<{ case: string; line: string; column: number; reason: string }> = [
  { case: 'a quote inside an unquoted field', line: 'bad"quote@example.com,x', column: 1, reason: 'INVALID_OPENING_QUOTE' },
  { case: 'a record over maxRecordBytes (fields each under maxFieldBytes)', line: Array.from({ length: 10 }, () => 'y'.repeat(1000)).join(','), column: 5, reason: 'CSV_MAX_RECORD_SIZE' },
  { case: 'one long line without delimiters', line: 'z'.repeat(100_000), column: 1, reason: 'CSV_MAX_RECORD_SIZE' },
  { case: 'a field over maxFieldBytes', line: `long@example.com,${'f'.repeat(1025)}`, column: 2, reason: 'field_too_large' },
  { case: 'a field of multi-byte characters over maxFieldBytes in bytes (not in characters)', line: `utf8@example.com,${'é'.repeat(600)}`, column: 2, reason: 'field_too_large' },
  { case: 'a NUL character, which Postgres cannot store', line: 'nul@example.com,Pa\u0000t', column: 2, reason: 'nul_character' },
  { case: 'more columns than maxColumns (a line of empty fields)', line: ','.repeat(100_000), column: 21, reason: 'too_many_columns' },
  { case: 'a long run of quotes', line: '"'.repeat(100_001), column: 1, reason: 'CSV_MAX_RECORD_SIZE' },
  { case: 'a quote closed in the middle of a field', line: '"closed"early@example.com,x', column: 1, reason: 'CSV_INVALID_CLOSING_QUOTE' },
];

beforeAll(async () => {
  world = await createWorld(t.db, testApp(t.db, config), 'csvlim');
  // Accounts must be on a sender domain of their own client.
  const domain = await request(world.app).post('/api/domains').set(bearer(world.a.adminToken)).send({ domain: 'mail.example.com', dkimSelector: 's1' });
  expect(domain.status).toBe(201);
});

describe.each(importers)('the $name importer', (importer) => {
  const upload = (csv: string | Buffer) => request(world.app).post(importer.path).set(bearer(world.a.adminToken)).attach('file', Buffer.from(csv), 'file.csv');

  it.each(badLines)('rejects $case with a 400 naming line and column, and imports nothing', async (bad) => {
    const before = await importer.stored();
    const res = await upload([importer.header, importer.row(1000), bad.line, importer.row(1001), ''].join('\n'));
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({
      code: 'malformed_csv',
      message: expect.stringContaining(`line 3, column ${bad.column}:`),
      details: { line: 3, column: bad.column, reason: bad.reason },
    });
    expect(await importer.stored()).toBe(before);
  });

  it('rejects a quoted field left open at the end of the file, naming the last line', async () => {
    const before = await importer.stored();
    const res = await upload([importer.header, importer.row(1000), '"open@example.com,x', 'last@example.com,x'].join('\n'));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({ line: 4, column: 1, reason: 'CSV_QUOTE_NOT_CLOSED' });
    expect(await importer.stored()).toBe(before);
  });

  it('refuses a file with more rows than maxRows with a 413, importing nothing', async () => {
    const before = await importer.stored();
    const rows = Array.from({ length: 51 }, (_, i) => importer.row(2000 + i));
    const res = await upload([importer.header, ...rows].join('\n'));
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'too_many_rows', details: { line: 52, limit: 50 } });
    expect(await importer.stored()).toBe(before);
  });

  it('imports a good file fully: 50 rows, quoted fields with commas, doubled quotes, CRLF and a BOM', async () => {
    const before = await importer.stored();
    const rows = Array.from({ length: 50 }, (_, i) => importer.row(i));
    const res = await upload(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([importer.header, ...rows].join('\r\n'))]));
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toMatch(/"errors":\[\{/);
    expect(await importer.stored()).toBe(before + 50);
  });
});

describe('upload size limit on a chunked body (no Content-Length)', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer(world.app as Express);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** POSTs `body` in 8 KiB chunks with Transfer-Encoding: chunked. */
  const postChunked = (path: string, contentType: string, body: Buffer) =>
    new Promise<{ status: number; body: { error?: { code: string } } }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': contentType, authorization: `Bearer ${world.a.adminToken}` } });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      for (let offset = 0; offset < body.length; offset += 8192) req.write(body.subarray(offset, offset + 8192));
      req.end();
    });

  // 1,000 valid rows (~26 KiB) repeated until over maxCsvBytes (64 KiB); maxRows is raised so
  // only the byte limit can stop it.
  const oversized = (importer: Importer) => {
    const lines = [importer.header];
    for (let i = 0; lines.join('\n').length < 96 * 1024; i++) lines.push(importer.row(3000 + i));
    return Buffer.from(lines.join('\n'));
  };

  it.each(importers)('counts the bytes actually read for $name: text/csv and multipart over maxCsvBytes are a 413, nothing imported', async (importer) => {
    config.imports.maxRows = 100_000;
    try {
      const before = await importer.stored();
      const csv = oversized(importer);
      const raw = await postChunked(importer.path, 'text/csv', csv);
      expect(raw).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });

      const boundary = 'csv-limit-boundary';
      const multipart = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.csv"\r\nContent-Type: text/csv\r\n\r\n`),
        csv,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const form = await postChunked(importer.path, `multipart/form-data; boundary=${boundary}`, multipart);
      expect(form).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
      expect(await importer.stored()).toBe(before);
    } finally {
      config.imports.maxRows = 50;
    }
  });
});
