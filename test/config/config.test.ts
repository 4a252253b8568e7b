import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseTunables } from '../../src/config';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-config-'));
}

function writeJson(dir: string, value: unknown): string {
  const file = path.join(dir, 'override.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('configuration', () => {
  it('loads the defaults and fills deployment settings from the environment', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir, PORT: '4100', DATABASE_URL: 'postgres://u:p@db.internal:5433/outreach' });
    expect(config.port).toBe(4100);
    expect(config.baseUrl).toBe('http://localhost:4100');
    expect(config.databaseUrl).toBe('postgres://u:p@db.internal:5433/outreach');
    expect(config.sending.defaultDailyLimit).toBeGreaterThan(0);
    expect(config.dataDir).toBe(dir);
  });

  it('generates the embedded secrets once, with mode 0600, and reuses them on the next start', () => {
    const dir = tempDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    const file = path.join(dir, 'secrets.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(second.credentialKeys[0]?.key.equals(first.credentialKeys[0]!.key)).toBe(true);
    expect(second.nodeId).toBe(first.nodeId);
    expect(second.addressHashKey.equals(first.addressHashKey)).toBe(true);
    expect(second.trackingKeys[0]?.equals(first.trackingKeys[0]!)).toBe(true);
  });

  it('gives every process the same secrets when many start at once on a new data directory', async () => {
    const dir = tempDir();
    const compiledConfig = path.resolve(__dirname, '../../dist/src/config.js');
    const script = `process.stdout.write(require(${JSON.stringify(compiledConfig)}).loadConfig({ DATA_DIR: ${JSON.stringify(dir)} }).jwtSecret)`;
    const secrets = await Promise.all(
      Array.from({ length: 8 }, () => new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', script], (error, stdout) => (error ? reject(error) : resolve(stdout))))),
    );
    expect(new Set(secrets).size).toBe(1);
    expect(secrets[0]).toBe(loadConfig({ DATA_DIR: dir }).jwtSecret);
    expect(fs.readdirSync(dir).sort()).toEqual(['node-id', 'secrets.json']);
  });

  it('keeps the node id out of secrets.json, in DATA_DIR/node-id: named after the host, the same at every start, another for another data directory', () => {
    const dir = tempDir();
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.nodeId).toMatch(new RegExp(`^${os.hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-[0-9a-f]{8}$`));
    expect(fs.readFileSync(path.join(dir, 'node-id'), 'utf8').trim()).toBe(first.nodeId);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8'))).not.toHaveProperty('nodeId');
    expect(loadConfig({ DATA_DIR: dir }).nodeId).toBe(first.nodeId);
    expect(first.workerEnv.NODE_ID).toBe(first.nodeId);

    // A second node given this node's secrets.json (as the deploy guide says) gets an id of its own.
    const second = tempDir();
    fs.copyFileSync(path.join(dir, 'secrets.json'), path.join(second, 'secrets.json'));
    const copied = loadConfig({ DATA_DIR: second });
    expect(copied.jwtSecret).toBe(first.jwtSecret);
    expect(copied.nodeId).not.toBe(first.nodeId);
  });

  it('moves the node id of an older secrets.json to DATA_DIR/node-id, so the node keeps it and a later copy of secrets.json carries none', () => {
    const dir = tempDir();
    loadConfig({ DATA_DIR: dir });
    const older = { ...JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8')), nodeId: 'node-0a1b2c3d' };
    const upgraded = tempDir();
    fs.writeFileSync(path.join(upgraded, 'secrets.json'), JSON.stringify(older), { mode: 0o600 });
    const config = loadConfig({ DATA_DIR: upgraded });
    expect(config.nodeId).toBe('node-0a1b2c3d');
    expect(fs.readFileSync(path.join(upgraded, 'node-id'), 'utf8').trim()).toBe('node-0a1b2c3d');
    const { nodeId: _moved, ...rest } = older;
    expect(JSON.parse(fs.readFileSync(path.join(upgraded, 'secrets.json'), 'utf8'))).toEqual(rest);
    expect(fs.statSync(path.join(upgraded, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: upgraded }).nodeId).toBe('node-0a1b2c3d');
  });

  it('takes NODE_ID over the file and writes no node-id then; refuses a node-id file that holds no id', () => {
    const dir = tempDir();
    expect(loadConfig({ DATA_DIR: dir, NODE_ID: 'node-b' }).nodeId).toBe('node-b');
    expect(fs.existsSync(path.join(dir, 'node-id'))).toBe(false);
    fs.writeFileSync(path.join(dir, 'node-id'), 'not an id\n');
    expect(() => loadConfig({ DATA_DIR: dir })).toThrow(/node-id does not hold a node id/);
  });

  it('prefers secrets given in the environment', () => {
    const key = crypto.randomBytes(32).toString('base64');
    const old = crypto.randomBytes(32).toString('base64');
    const config = loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: 'x'.repeat(40), CREDENTIALS_KEYS: `new:${key},old:${old}` });
    expect(config.jwtSecret).toBe('x'.repeat(40));
    expect(config.credentialKeys.map((k) => k.id)).toEqual(['new', 'old']);
  });

  it('overlays a CONFIG_FILE on the defaults', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir, CONFIG_FILE: writeJson(dir, { sending: { defaultDailyLimit: 7 } }) });
    expect(config.sending.defaultDailyLimit).toBe(7);
    expect(config.sending.defaultHourlyLimit).toBe(parseTunables().sending.defaultHourlyLimit);
  });

  it.each([
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ DATABASE_URL: 'mysql://u@h/db' }, /DATABASE_URL/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ BASE_URL: 'nope' }, /BASE_URL/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET: must be at least 32 characters/],
    [{ CREDENTIALS_KEYS: 'k1:dG9vLXNob3J0' }, /CREDENTIALS_KEYS: key "k1" must be 32 bytes/],
    [{ CREDENTIALS_KEYS: 'missing-colon' }, /CREDENTIALS_KEYS/],
    [{ NODE_ID: 'has spaces' }, /NODE_ID/],
  ])('refuses a bad environment %j with a message naming the key', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: tempDir(), ...env })).toThrow(message);
    expect(() => loadConfig({ DATA_DIR: tempDir(), ...env })).toThrow(ConfigError);
  });

  it('names the key when a tunable has the wrong type', () => {
    const dir = tempDir();
    const file = writeJson(dir, { sending: { defaultDailyLimit: 'fifty' } });
    expect(() => loadConfig({ DATA_DIR: dir, CONFIG_FILE: file })).toThrow(/sending\.defaultDailyLimit: .*number/);
  });

  it('validates the CSV reader limits: positive integers, and a field no larger than a record', () => {
    expect(parseTunables().imports).toMatchObject({ maxRecordBytes: 65536, maxFieldBytes: 16384, maxColumns: 100, maxRows: 1_000_000 });
    expect(() => parseTunables({ imports: { maxColumns: 0 } })).toThrow(/imports\.maxColumns: /);
    expect(() => parseTunables({ imports: { maxRows: 1.5 } })).toThrow(/imports\.maxRows: /);
    expect(() => parseTunables({ imports: { maxFieldBytes: 100_000 } })).toThrow('Invalid configuration: imports.maxFieldBytes: maxFieldBytes must not exceed maxRecordBytes');
  });

  it('refuses unknown tunables so typos do not pass silently', () => {
    const dir = tempDir();
    const file = writeJson(dir, { sending: { dailyLimt: 10 } });
    expect(() => loadConfig({ DATA_DIR: dir, CONFIG_FILE: file })).toThrow(/sending.*dailyLimt/);
  });

  it('explains a CONFIG_FILE that is missing or not JSON', () => {
    const dir = tempDir();
    expect(() => loadConfig({ DATA_DIR: dir, CONFIG_FILE: path.join(dir, 'absent.json') })).toThrow(/CONFIG_FILE .* cannot be read: ENOENT/);
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{ nope');
    expect(() => loadConfig({ DATA_DIR: dir, CONFIG_FILE: broken })).toThrow(/CONFIG_FILE .* is not valid JSON/);
  });

  it('refuses a data directory it cannot write', () => {
    expect(() => loadConfig({ DATA_DIR: '/dev/null/outreach' })).toThrow(/Data directory \/dev\/null\/outreach is not writable/);
  });
});
