/**
 * The worker as deployed is a build product (scripts/bundle-worker.ts): these tests load the
 * bundles from dist/ (built by `npm test`'s pretest) and check what the build promises.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config';
import type { createGmailTransport as CreateGmailTransport } from '../../src/transports/gmail.transport';
import { composeMessage } from '../../src/transports/mime';
import { startGmailEmulator } from '../peers/gmail-emulator';

const WORKERS_DIR = path.join(PROJECT_ROOT, 'dist', 'workers');
const run = promisify(execFile);

describe('send-worker bundle', () => {
  it('is one file that does not contain the full zod API, winston or the Gmail client', () => {
    const worker = fs.readFileSync(path.join(WORKERS_DIR, 'send-worker.main.js'), 'utf8');
    expect(worker).toContain('require("./gmail.transport.js")');
    expect(worker).not.toMatch(/require\("(zod|winston|@googleapis\/gmail|googleapis)"\)/);
    // winston's and the Gmail client's own identifiers would survive minification as strings.
    expect(worker).not.toContain('winston');
    expect(worker).not.toContain('gmail.googleapis.com');
  });

  it('finds the modules it leaves out of the bundle from where it is installed', () => {
    const worker = fs.readFileSync(path.join(WORKERS_DIR, 'send-worker.main.js'), 'utf8');
    for (const external of ['html-to-text', 'imapflow']) {
      expect(worker).toContain(`require("${external}")`);
      expect(() => require.resolve(external, { paths: [WORKERS_DIR] })).not.toThrow();
    }
  });

  it('loads no node_modules file when it starts (it stops at its usage check)', async () => {
    const script = `
      process.on('exit', () => { const files = Object.keys(require.cache).filter((f) => f.includes('node_modules')); process.stderr.write('NODE_MODULES=' + files.length + '\\n'); });
      process.argv = [process.argv[0], ${JSON.stringify(path.join(WORKERS_DIR, 'send-worker.js'))}];
      require(${JSON.stringify(path.join(WORKERS_DIR, 'send-worker.js'))});
    `;
    const result = await run(process.execPath, ['-e', script]).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('send-worker: cannot start: usage: send-worker --account <account uuid>');
    expect(result.stderr).toContain('NODE_MODULES=0');
  });

  it('ships a Gmail transport bundle that sends through the real client to the emulator', async () => {
    const oauthClient = { clientId: 'bundle-client', clientSecret: 'bundle-secret', refreshToken: 'bundle-refresh', userEmail: 'bundle@acme.test' };
    const emulator = await startGmailEmulator({ serviceAccounts: [], oauthClients: [oauthClient] });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createGmailTransport } = require(path.join(WORKERS_DIR, 'gmail.transport.js')) as { createGmailTransport: typeof CreateGmailTransport };
      const transport = createGmailTransport({ composeMessage,
        userEmail: oauthClient.userEmail,
        auth: { kind: 'oauth2', clientId: oauthClient.clientId, clientSecret: oauthClient.clientSecret, refreshToken: oauthClient.refreshToken },
        rootUrl: emulator.rootUrl,
        tokenUrl: emulator.tokenUrl,
      });
      const messageId = `<bundle.${crypto.randomBytes(4).toString('hex')}@acme.test>`;
      const result = await transport.send({ from: { address: oauthClient.userEmail, name: 'B' }, to: 'r@example.test', subject: 'Hi', text: 'Hello', html: '<p>Hello</p>', messageId, headers: {} });
      expect(result).toMatchObject({ outcome: 'accepted', code: 200 });
      expect(emulator.sent.find((s) => s.messageId === messageId)).toMatchObject({ userEmail: oauthClient.userEmail });
      expect(await transport.findSent(messageId)).toBe(true);
      await transport.close();
    } finally {
      await emulator.close();
    }
  });
});
