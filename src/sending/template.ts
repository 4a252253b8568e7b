/**
 * Template language of sequence steps:
 *   {{first_name|there}}   a contact field with a fallback used when the field is empty
 *   {{company}}            a field without fallback: every contact must have it (checked by
 *                          validateTemplate at campaign validation, never at send)
 *   {{plan}}               custom fields by their key (standard fields win on a name clash)
 *   {Hi|Hello|Hey}         spintax; may nest; a brace group without a top-level "|" (CSS,
 *                          JSON in HTML) is left as written
 * What is wrong with a template, and where (an unclosed "{Hi|Hello", "{{first_name"…), is
 * template-problems.ts's: steps holding such errors are refused when saved and never sent.
 *
 * Spintax choices come from a seed (the Message-ID), so a retry renders the same message and
 * parts rendered with the same seed make the same choices. Spintax is resolved on the
 * template before fields are substituted: contact data is never parsed as template syntax.
 */
import crypto from 'node:crypto';

export interface ContactFields {
  email: string;
  first_name: string;
  last_name: string;
  company: string;
  custom_fields: Record<string, string | number | boolean | null | undefined>;
}

export interface RenderOptions {
  /** Deterministic spintax seed: the Message-ID. */
  seed: string;
  /** Escape substituted values for HTML (the template's own markup is kept). */
  html?: boolean;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:\|([^{}]*?))?\s*\}\}/g;
const STANDARD_FIELDS = ['email', 'first_name', 'last_name', 'company'] as const;

export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The value of a field for a contact, trimmed; '' when absent. */
export function fieldValue(contact: ContactFields, field: string): string {
  const key = field.toLowerCase();
  if ((STANDARD_FIELDS as readonly string[]).includes(key)) return String(contact[key as (typeof STANDARD_FIELDS)[number]] ?? '').trim();
  const custom = contact.custom_fields ?? {};
  const direct = custom[field] ?? custom[key] ?? Object.entries(custom).find(([k]) => k.toLowerCase() === key)?.[1];
  return direct === null || direct === undefined ? '' : String(direct).trim();
}

/** A reproducible chooser: the k-th choice depends only on the seed and k. */
function chooser(seed: string): (count: number) => number {
  let counter = 0;
  return (count) => {
    const digest = crypto.createHash('sha256').update(`${seed}\u0000${counter++}`).digest();
    return digest.readUInt32BE(0) % count;
  };
}

/** Index of the "}" closing the "{" at `open`, or -1. Skips {{…}} placeholders. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text.startsWith('{{', i)) {
      const end = text.indexOf('}}', i + 2);
      if (end < 0) return -1;
      i = end + 1;
      continue;
    }
    const ch = text[i];
    if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return -1;
}

/** Splits a group's inside on "|" at its own level (not inside nested groups or placeholders). */
function topLevelOptions(inner: string): string[] {
  const options: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner.startsWith('{{', i)) {
      const end = inner.indexOf('}}', i + 2);
      if (end < 0) break;
      i = end + 1;
      continue;
    }
    const ch = inner[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === '|' && depth === 0) {
      options.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  options.push(inner.slice(start));
  return options;
}

function spin(text: string, choose: (count: number) => number): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('{{', i)) {
      const end = text.indexOf('}}', i + 2);
      if (end < 0) return out + text.slice(i);
      out += text.slice(i, end + 2);
      i = end + 2;
      continue;
    }
    if (text[i] === '{') {
      const close = matchingBrace(text, i);
      if (close > 0) {
        const options = topLevelOptions(text.slice(i + 1, close));
        if (options.length > 1) {
          out += spin(options[choose(options.length)] ?? '', choose);
        } else {
          // Not spintax (CSS, JSON…): keep the braces, still spin what is inside.
          out += `{${spin(options[0] ?? '', choose)}}`;
        }
        i = close + 1;
        continue;
      }
    }
    out += text[i];
    i++;
  }
  return out;
}

export function renderTemplate(template: string, contact: ContactFields, options: RenderOptions): string {
  const spun = spin(template, chooser(options.seed));
  return spun.replace(PLACEHOLDER, (_match, field: string, fallback: string | undefined) => {
    const value = fieldValue(contact, field) || (fallback ?? '').trim();
    return options.html ? escapeHtml(value) : value;
  });
}

export interface FieldUse {
  field: string;
  hasFallback: boolean;
}

/** Every placeholder in a template, in order of appearance (spintax options included). */
export function fieldsUsed(template: string): FieldUse[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => ({ field: m[1] ?? '', hasFallback: m[2] !== undefined }));
}

export interface TemplateIssue {
  code: 'missing_field';
  message: string;
  field?: string;
  /** How many contacts lack the field, and a few of their addresses to show the user. */
  missingCount?: number;
  sampleEmails?: string[];
}

const SAMPLE_SIZE = 5;

/**
 * Campaign validation: a field used without a fallback that some contact lacks is an error
 * here, so sending never has to decide what to do with a half-rendered message. (Syntax
 * problems, with their positions, are template-problems.ts's.)
 */
export function validateTemplate(templates: string | string[], contacts: Iterable<ContactFields>): TemplateIssue[] {
  const list = Array.isArray(templates) ? templates : [templates];
  const issues: TemplateIssue[] = [];
  const required = new Set<string>();
  for (const template of list) for (const use of fieldsUsed(template)) if (!use.hasFallback) required.add(use.field);
  if (required.size === 0) return issues;

  const missing = new Map<string, { count: number; sample: string[] }>();
  for (const contact of contacts) {
    for (const field of required) {
      if (fieldValue(contact, field) !== '') continue;
      const entry = missing.get(field) ?? { count: 0, sample: [] };
      entry.count++;
      if (entry.sample.length < SAMPLE_SIZE) entry.sample.push(contact.email);
      missing.set(field, entry);
    }
  }
  for (const [field, entry] of missing) {
    issues.push({
      code: 'missing_field',
      field,
      missingCount: entry.count,
      sampleEmails: entry.sample,
      message: `{{${field}}} has no fallback and ${entry.count} contact(s) have no value for it; add one like {{${field}|…}} or fill the field`,
    });
  }
  return issues;
}
