/**
 * Secrets the embedded default needs when the operator gives none: generated once into
 * DATA_DIR/secrets.json (mode 0600) and reused on every later start, so encrypted
 * credentials and issued tokens stay valid across restarts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface CredentialKey {
  id: string;
  key: Buffer;
}

export interface GeneratedSecrets {
  jwtSecret: string;
  credentialKey: CredentialKey;
  embeddedPostgresPassword: string;
  nodeId: string;
}

interface SecretsFile {
  jwtSecret: string;
  credentialKeyId: string;
  credentialKey: string;
  embeddedPostgresPassword: string;
  nodeId: string;
}

/** Thrown when DATA_DIR cannot hold the secrets; config turns it into a ConfigError. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses CREDENTIALS_KEYS: "id:base64key[,id:base64key…]". The first key encrypts; all of
 * them decrypt, which is how keys are rotated.
 */
export function parseCredentialKeys(text: string): CredentialKey[] {
  const keys = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [id, encoded, ...rest] = part.split(':');
      if (!id || !encoded || rest.length > 0) throw new Error(`expected "id:base64key" entries, got "${part.slice(0, 12)}…"`);
      if (!KEY_ID_PATTERN.test(id)) throw new Error(`key id "${id}" must be 1-32 letters, digits, "_" or "-"`);
      const key = Buffer.from(encoded, 'base64');
      if (key.length !== 32) throw new Error(`key "${id}" must be 32 bytes of base64 (got ${key.length})`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error('no keys given');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

export function loadOrCreateGeneratedSecrets(dataDir: string): GeneratedSecrets {
  const file = path.join(dataDir, 'secrets.json');
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (error) {
    throw new DataDirError(`Data directory ${dataDir} is not writable (${(error as NodeJS.ErrnoException).code ?? String(error)}); set DATA_DIR to a writable directory`);
  }
  let stored: SecretsFile;
  if (fs.existsSync(file)) {
    try {
      stored = JSON.parse(fs.readFileSync(file, 'utf8')) as SecretsFile;
    } catch (error) {
      throw new DataDirError(`${file} is unreadable or corrupt (${(error as Error).message}); restore it from a backup`);
    }
  } else {
    stored = {
      jwtSecret: crypto.randomBytes(48).toString('base64url'),
      credentialKeyId: `k${Date.now().toString(36)}`,
      credentialKey: crypto.randomBytes(32).toString('base64'),
      embeddedPostgresPassword: crypto.randomBytes(24).toString('base64url'),
      nodeId: `node-${crypto.randomBytes(4).toString('hex')}`,
    };
    // Written to a private temporary file and then hard-linked into place: the link fails if
    // another process created the file first, and nobody ever reads a half-written file.
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(temporary, JSON.stringify(stored, null, 2), { mode: 0o600 });
      fs.linkSync(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateGeneratedSecrets(dataDir);
      throw new DataDirError(`Cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}); set DATA_DIR to a writable directory`);
    } finally {
      fs.rmSync(temporary, { force: true });
    }
  }
  return {
    jwtSecret: stored.jwtSecret,
    credentialKey: { id: stored.credentialKeyId, key: Buffer.from(stored.credentialKey, 'base64') },
    embeddedPostgresPassword: stored.embeddedPostgresPassword,
    nodeId: stored.nodeId,
  };
}

/**
 * The bearer token of GET /metrics when the operator sets none (METRICS_BEARER_TOKEN):
 * generated once into DATA_DIR/metrics-token (mode 0600) for the operator to copy into
 * Prometheus' `authorization.credentials_file`. Its own file, not a field of secrets.json, so
 * servers installed before it keep their secrets file as it is.
 */
export function loadOrCreateMetricsToken(dataDir: string): string {
  const file = path.join(dataDir, 'metrics-token');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, `${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    fs.linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(`Cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  return fs.readFileSync(file, 'utf8').trim();
}
