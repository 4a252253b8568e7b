/**
 * What an audit row may keep of a request body or a settings row (invariant 6: credentials
 * never leave the server). Any field named like a secret is replaced wherever it sits in the
 * tree — passwords, tokens, API and signing keys, Slack/Telegram secrets, encrypted blobs and
 * hashes — so a new route cannot leak one by forgetting to declare it.
 */
const SECRET_FIELD = /pass(word)?|secret|token|credential|authorization|private_?key|refresh|api_?key|signing_?key|verification_?key|webhook_?url|encrypted|hash$/i;
const REDACTED = '[redacted]';
/** Bodies can be large (a CSV is never one, but a sequence of steps can be): keep rows readable. */
const MAX_STRING_CHARS = 2_000;
const MAX_DEPTH = 8;

export function redactForAudit(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (typeof value === 'string') return value.length > MAX_STRING_CHARS ? `${value.slice(0, MAX_STRING_CHARS)}…` : value;
  if (typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) return value.map((item) => redactForAudit(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SECRET_FIELD.test(key) && item !== null && item !== undefined ? REDACTED : redactForAudit(item, depth + 1);
  }
  return out;
}
