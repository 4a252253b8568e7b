/**
 * A real IMAP server for tests: Debian's Dovecot (`dovecot-imapd`, installed by .ci/run),
 * started per test file in the foreground with its own config in a temp dir: loopback only,
 * a free port, plaintext LOGIN without TLS, one user from a passwd file, maildir storage in
 * the temp dir, and a mailbox flagged \Sent. Seeding goes through real IMAP APPEND (imapflow).
 *
 * As root (CI, the dev machines) Dovecot drops to its packaged `dovecot`/`dovenull` users and
 * stores mail as `nobody`; as any other user it runs rootless as that user.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import type { ImapSettings } from '../../src/transports/smtp.transport';
import { findFreePort, greetsWith, groupName } from '../../scripts/local-daemons';

const DOVECOT = '/usr/sbin/dovecot';
const START_TIMEOUT_MS = 15_000;
/** Debian's nobody / nogroup. */
const NOBODY_ID = 65534;

export interface ImapPeerOptions {
  user?: string;
  pass?: string;
  /** Name of the mailbox created with the \Sent special-use flag (default "Sent"). */
  sentMailbox?: string;
}

export interface ImapPeer {
  host: string;
  port: number;
  user: string;
  pass: string;
  /** The user's maildir on disk (an MTA such as test/peers/postfix-peer delivers into it). */
  maildir: string;
  /** Dovecot's auth socket for an MTA's SMTP AUTH (Postfix smtpd_sasl_type = dovecot). */
  authSocket: string;
  /** Settings for findSentOverImap / an SMTP account's `imap`, with this peer's login. */
  settings(overrides?: Partial<ImapSettings>): ImapSettings;
  /** APPENDs a minimal message with this Message-ID to `mailbox`, creating the mailbox if needed. */
  appendMessage(mailbox: string, messageId: string): Promise<void>;
  stop(): Promise<void>;
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function dovecotConfig(dir: string, port: number, sentMailbox: string): string {
  const root = process.getuid?.() === 0;
  const me = os.userInfo();
  const users = root
    ? { internal: 'dovecot', login: 'dovenull', mailUid: String(NOBODY_ID), mailGid: String(NOBODY_ID) }
    : { internal: me.username, login: me.username, mailUid: String(me.uid), mailGid: String(me.gid) };
  return `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = outreach-test-imap-${port}
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Wrong-password tests should not wait the default 2 s.
auth_failure_delay = 0
default_internal_user = ${users.internal}
default_internal_group = ${root ? 'dovecot' : groupName(me.gid)}
default_login_user = ${users.login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${users.mailUid} gid=${users.mailGid} home=${dir}/home/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox ${quote(sentMailbox)} {
    special_use = \\Sent
    auto = create
  }
}
# No chroot: a rootless Dovecot cannot chroot, and tests gain nothing from it.
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
# For an MTA's SMTP AUTH against the same users (test/peers/postfix-peer: smtpd_sasl_type = dovecot).
service auth {
  unix_listener auth-mta {
    mode = 0666
  }
}
`;
}

export async function startImapPeer(options: ImapPeerOptions = {}): Promise<ImapPeer> {
  if (!fs.existsSync(DOVECOT)) throw new Error(`${DOVECOT} not found: install Debian's dovecot-imapd (.ci/run does)`);
  const user = options.user ?? 'sender@example.test';
  const pass = options.pass ?? 'imap-secret';
  const sentMailbox = options.sentMailbox ?? 'Sent';

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imap-peer-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'home'));
  // As root the mail processes run as nobody: the maildir must be theirs.
  if (process.getuid?.() === 0) fs.chownSync(path.join(dir, 'home'), NOBODY_ID, NOBODY_ID);
  fs.writeFileSync(path.join(dir, 'passwd'), `${user}:{PLAIN}${pass}::::::\n`, { mode: 0o644 });
  const port = await findFreePort();
  fs.writeFileSync(path.join(dir, 'dovecot.conf'), dovecotConfig(dir, port, sentMailbox));

  const child: ChildProcess = spawn(DOVECOT, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  // A test process that dies without stop() must not leave a Dovecot behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => {
    running = false;
    process.removeListener('exit', killOnExit);
  });

  const cleanUp = async () => {
    if (running) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      if (running) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await greetsWith(port, '* OK'))) {
    if (!running || Date.now() > deadline) {
      const log = fs.existsSync(path.join(dir, 'dovecot.log')) ? fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8') : '';
      await cleanUp();
      throw new Error(`dovecot did not start on 127.0.0.1:${port}: ${stderr}${log}`.trim());
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const settings = (overrides: Partial<ImapSettings> = {}): ImapSettings => ({ host: '127.0.0.1', port, secure: false, auth: { user, pass }, ...overrides });

  return {
    host: '127.0.0.1',
    port,
    user,
    pass,
    maildir: path.join(dir, 'home', user, 'Maildir'),
    authSocket: path.join(dir, 'run', 'auth-mta'),
    settings,
    async appendMessage(mailbox, messageId) {
      const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass }, logger: false });
      await client.connect();
      try {
        const exists = (await client.list()).some((box) => box.path === mailbox);
        if (!exists) await client.mailboxCreate(mailbox);
        const raw = [
          'From: Sam Sender <sender@example.test>',
          'To: someone@example.test',
          `Message-ID: ${messageId}`,
          'Subject: seeded by the test',
          'Date: Mon, 02 Mar 2026 12:00:00 +0000',
          '',
          'Hello.',
          '',
        ].join('\r\n');
        await client.append(mailbox, raw, ['\\Seen']);
      } finally {
        await client.logout().catch(() => client.close());
      }
    },
    stop: cleanUp,
  };
}
