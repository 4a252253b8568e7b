/**
 * Reading a contacts CSV row by row: header mapping, validation and in-file dedupe. Pure (no
 * database), so the import service and the bench share it exactly. A row is either a valid
 * contact, a duplicate of an earlier row, or invalid with a line number and a reason.
 *
 * Columns: `email` (required); `first_name`, `last_name`, `company`, `time_zone` (optional,
 * common spellings accepted); any other column becomes a custom field for templates.
 */
import { emailDomain, hasControlChars, normalizeEmail } from './email-address';

export interface ContactRecord {
  email: string;
  emailDomain: string;
  firstName: string;
  lastName: string;
  company: string;
  timeZone: string | null;
  /** JSON text of the custom fields ('{}' when none), ready for a jsonb parameter. */
  customFieldsJson: string;
}

export interface RowError {
  line: number;
  field: string;
  message: string;
}

export const MAX_FIELD_CHARS = 500;
const MAX_CUSTOM_COLUMNS = 50;

const STANDARD_ALIASES: Record<string, 'email' | 'firstName' | 'lastName' | 'company' | 'timeZone'> = {
  email: 'email',
  email_address: 'email',
  e_mail: 'email',
  first_name: 'firstName',
  firstname: 'firstName',
  given_name: 'firstName',
  last_name: 'lastName',
  lastname: 'lastName',
  surname: 'lastName',
  family_name: 'lastName',
  company: 'company',
  company_name: 'company',
  organization: 'company',
  time_zone: 'timeZone',
  timezone: 'timeZone',
  tz: 'timeZone',
};

export class HeaderError extends Error {
  override name = 'HeaderError';
}

const validTimeZones = new Map<string, boolean>();
function isValidTimeZone(zone: string): boolean {
  let known = validTimeZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    if (validTimeZones.size < 10_000) validTimeZones.set(zone, known);
  }
  return known;
}

export type RowResult = { kind: 'contact'; contact: ContactRecord } | { kind: 'duplicate' } | { kind: 'invalid'; error: RowError };

export interface ContactRowReader {
  read(fields: string[], line: number): RowResult;
}

/** Builds a reader for the file whose header row is `header`; throws HeaderError for a header it cannot use. */
export function contactRowReader(header: string[]): ContactRowReader {
  const normalized = header.map((name) => name.trim().toLowerCase().replace(/[\s-]+/g, '_'));
  const standard: Partial<Record<'email' | 'firstName' | 'lastName' | 'company' | 'timeZone', number>> = {};
  const custom: Array<{ name: string; index: number }> = [];
  const seen = new Set<string>();
  normalized.forEach((name, index) => {
    if (name === '') throw new HeaderError(`column ${index + 1} has no name`);
    if (seen.has(name)) throw new HeaderError(`column "${name}" appears twice`);
    if (!/^[a-z0-9_]{1,64}$/.test(name)) throw new HeaderError(`column "${header[index]}" must use letters, digits, spaces, "-" or "_" (at most 64)`);
    seen.add(name);
    const alias = STANDARD_ALIASES[name];
    if (alias && standard[alias] === undefined) standard[alias] = index;
    else custom.push({ name, index });
  });
  const emailIndex = standard.email;
  if (emailIndex === undefined) throw new HeaderError('the header has no "email" column');
  if (custom.length > MAX_CUSTOM_COLUMNS) throw new HeaderError(`at most ${MAX_CUSTOM_COLUMNS} custom columns are allowed`);

  const emails = new Set<string>();
  const columnCount = header.length;

  const text = (fields: string[], index: number | undefined) => (index === undefined ? '' : (fields[index] ?? '').trim());

  return {
    read(fields, line) {
      if (fields.length !== columnCount) {
        return { kind: 'invalid', error: { line, field: '*', message: `expected ${columnCount} columns, found ${fields.length}` } };
      }
      const rawEmail = fields[emailIndex] ?? '';
      const email = normalizeEmail(rawEmail);
      if (!email) return { kind: 'invalid', error: { line, field: 'email', message: rawEmail.trim() === '' ? 'email is empty' : 'not a valid email address' } };
      const firstName = text(fields, standard.firstName);
      const lastName = text(fields, standard.lastName);
      const company = text(fields, standard.company);
      const timeZone = text(fields, standard.timeZone);
      for (const [field, value] of [
        ['first_name', firstName],
        ['last_name', lastName],
        ['company', company],
      ] as const) {
        if (value.length > MAX_FIELD_CHARS) return { kind: 'invalid', error: { line, field, message: `longer than ${MAX_FIELD_CHARS} characters` } };
        if (hasControlChars(value)) return { kind: 'invalid', error: { line, field, message: 'contains line breaks or control characters' } };
      }
      if (timeZone !== '' && !isValidTimeZone(timeZone)) return { kind: 'invalid', error: { line, field: 'time_zone', message: `unknown time zone "${timeZone.slice(0, 40)}"` } };
      let customFieldsJson = '{}';
      if (custom.length > 0) {
        const values: Record<string, string> = {};
        for (const { name, index } of custom) {
          const value = (fields[index] ?? '').trim();
          if (value.length > MAX_FIELD_CHARS) return { kind: 'invalid', error: { line, field: name, message: `longer than ${MAX_FIELD_CHARS} characters` } };
          if (hasControlChars(value)) return { kind: 'invalid', error: { line, field: name, message: 'contains line breaks or control characters' } };
          if (value !== '') values[name] = value;
        }
        customFieldsJson = JSON.stringify(values);
      }
      if (emails.has(email)) return { kind: 'duplicate' };
      emails.add(email);
      return {
        kind: 'contact',
        contact: { email, emailDomain: emailDomain(email), firstName, lastName, company, timeZone: timeZone || null, customFieldsJson },
      };
    },
  };
}
