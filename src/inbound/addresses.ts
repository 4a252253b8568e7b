/** Reading addresses, Message-IDs and dates out of header values and report fields. */

// Local part and domain of a plain address; no quoted local parts (never ours, never our contacts').
const ADDRESS = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/;
const ANGLE_ADDRESS = new RegExp(`<\\s*(${ADDRESS.source})\\s*>`);
const MESSAGE_ID = /<([^<>\s]+@[^<>\s]+)>/g;

/** The address in a header or report value ("Name <a@b>", "rfc822; a@b", "<a@b>"), lower case. */
export function addressIn(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = ANGLE_ADDRESS.exec(value) ?? ADDRESS.exec(value);
  const address = match?.[1] ?? match?.[0];
  return address?.toLowerCase().replace(/\.$/, '');
}

/** Every Message-ID in a value, with its angle brackets, as we store them. */
export function messageIdsIn(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(MESSAGE_ID)].map((match) => `<${match[1]}>`);
}

/** A Message-ID as an ESP echoes it, with or without angle brackets, as we store it; none when empty. */
export function echoedMessageIds(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  const found = messageIdsIn(value);
  return found.length > 0 ? found : [`<${value.trim()}>`];
}

/** A report field of the form "type; value" (RFC 3464 address-type, MTA-name-type, diagnostic-type). */
export function typedField(value: string | undefined): { type: string; value: string } | undefined {
  if (!value) return undefined;
  const semicolon = value.indexOf(';');
  if (semicolon < 0) return { type: '', value: value.trim() };
  return { type: value.slice(0, semicolon).trim().toLowerCase(), value: value.slice(semicolon + 1).trim() };
}

/** An RFC 5322 date (comments and odd spacing allowed), or undefined when unreadable. */
export function dateIn(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value.replace(/\s+/g, ' ').trim());
  return Number.isNaN(date.getTime()) ? undefined : date;
}
