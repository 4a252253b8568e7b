/**
 * Secrets the embedded default needs when the operator gives none: generated once into
 * DATA_DIR/secrets.json (mode 0600) and reused on every later start, so encrypted
 * credentials and issued tokens stay valid across restarts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CredentialKey {
  id: string;
  key: Buffer;
}

export interface GeneratedSecrets {
  jwtSecret: string;
  credentialKey: CredentialKey;
  /** Signs tracking, unsubscribe and landing links when TRACKING_KEYS is not set. */
  trackingKey: Buffer;
  /** Keys the hash an erased address leaves on the suppression list when ERASURE_HASH_KEY is not set; never changes. */
  erasureKey: Buffer;
  embeddedPostgresPassword: string;
  /** The node id that files written before DATA_DIR/node-id carried: moved there on first use (loadOrCreateNodeId). */
  legacyNodeId: string | undefined;
}

interface SecretsFile {
  jwtSecret: string;
  credentialKeyId: string;
  credentialKey: string;
  /** Absent in files written before tracking links had a key of their own: added on first load. */
  trackingKey?: string;
  /** Absent in files written before erasure: added on first load. */
  erasureKey?: string;
  embeddedPostgresPassword: string;
  /** Written by versions before DATA_DIR/node-id; removed once moved there. */
  nodeId?: string;
}

/** Thrown when DATA_DIR cannot hold the secrets; config turns it into a ConfigError. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses CREDENTIALS_KEYS (and TRACKING_KEYS): "id:base64key[,id:base64key…]". The first key
 * encrypts (signs); all of them decrypt (verify), which is how keys are rotated.
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
      trackingKey: crypto.randomBytes(32).toString('base64'),
      erasureKey: crypto.randomBytes(32).toString('base64'),
      embeddedPostgresPassword: crypto.randomBytes(24).toString('base64url'),
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
  if (!stored.trackingKey || !stored.erasureKey) stored = addMissingKeys(file);
  return {
    jwtSecret: stored.jwtSecret,
    credentialKey: { id: stored.credentialKeyId, key: Buffer.from(stored.credentialKey, 'base64') },
    trackingKey: Buffer.from(stored.trackingKey as string, 'base64'),
    erasureKey: Buffer.from(stored.erasureKey as string, 'base64'),
    embeddedPostgresPassword: stored.embeddedPostgresPassword,
    legacyNodeId: stored.nodeId,
  };
}

const LOCK_WAIT_MS = 10_000;

/**
 * Rewrites secrets.json under a lock: the server and its workers may start at once. The first
 * to take the lock (a file created exclusively) writes, the others wait and read, so every
 * process uses the same keys. `change` returns undefined when the file needs nothing. The new
 * file is renamed into place: a reader sees the old one or the new one, never half of one.
 */
function updateSecretsFile(file: string, change: (stored: SecretsFile) => SecretsFile | undefined): SecretsFile {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(`Cannot write ${lock} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      // A lock older than the wait is a process that died holding it.
      const lockAge = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (Date.now() > deadline || lockAge > LOCK_WAIT_MS) fs.rmSync(lock, { force: true });
      // Config loading is synchronous; a short blocking sleep while another process writes.
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as SecretsFile;
    const updated = change(stored);
    if (!updated) return stored;
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(updated, null, 2), { mode: 0o600 });
    fs.renameSync(temporary, file);
    return updated;
  } catch (error) {
    throw new DataDirError(`Cannot update ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Adds the keys a secrets file written by an older version lacks (tracking, erasure). */
function addMissingKeys(file: string): SecretsFile {
  return updateSecretsFile(file, (stored) => {
    if (stored.trackingKey && stored.erasureKey) return undefined;
    const fresh = () => crypto.randomBytes(32).toString('base64');
    return { ...stored, trackingKey: stored.trackingKey ?? fresh(), erasureKey: stored.erasureKey ?? fresh() };
  });
}

/**
 * This node's id when NODE_ID is not set: DATA_DIR/node-id, generated once (the host name and
 * a random suffix, so two machines never draw the same). Not in secrets.json: a second node is
 * given the first one's secrets, and two nodes with one id would renew the same leases and
 * drive the same accounts. A secrets.json from before this file keeps its id: it is moved
 * here on first use and then removed from secrets.json, so a copy of that file taken
 * afterwards carries no node id.
 */
export function loadOrCreateNodeId(dataDir: string, legacyNodeId: string | undefined): string {
  const file = path.join(dataDir, 'node-id');
  if (!fs.existsSync(file)) {
    const host = os.hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40) || 'node';
    const id = legacyNodeId ?? `${host}-${crypto.randomBytes(4).toString('hex')}`;
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(temporary, `${id}\n`, { mode: 0o600 });
      fs.linkSync(temporary, file);
    } catch (error) {
      // EEXIST: another process of this node wrote it first; its id wins.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(`Cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}); set DATA_DIR to a writable directory`);
    } finally {
      fs.rmSync(temporary, { force: true });
    }
  }
  const id = fs.readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new DataDirError(`${file} does not hold a node id (letters, digits, "_", "." and "-", at most 64); delete it to have one generated, or set NODE_ID`);
  if (legacyNodeId !== undefined) {
    const secrets = path.join(dataDir, 'secrets.json');
    updateSecretsFile(secrets, (stored) => {
      if (stored.nodeId === undefined) return undefined;
      const { nodeId: _moved, ...rest } = stored;
      return rest;
    });
  }
  return id;
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
