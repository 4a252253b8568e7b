/**
 * A private Dovecot (Debian's dovecot-imapd) with many users, for the inbox-reading benchmark:
 * loopback only, a free port, plaintext LOGIN, users from a passwd-file, Maildir storage in a
 * temporary directory. Same settings as the tests' IMAP peer (test/peers/imap-peer.ts), with
 * process limits raised for a fleet. Mail is delivered by writing Maildir files, as a local
 * delivery agent does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, greetsWith, groupName } from '../local-daemons';

const DOVECOT = '/usr/sbin/dovecot';
const NOBODY_ID = 65534;

export interface DovecotFleet {
  host: string;
  port: number;
  users: Array<{ user: string; pass: string }>;
  pid: number;
  /** Writes one message into the user's INBOX (Maildir/new). */
  deliver(user: string, raw: string): void;
  stop(): Promise<void>;
}

export async function startDovecotFleet(count: number): Promise<DovecotFleet> {
  if (!fs.existsSync(DOVECOT)) throw new Error(`${DOVECOT} not found: install Debian's dovecot-imapd`);
  const root = process.getuid?.() === 0;
  const me = os.userInfo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dovecot-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'home'));
  const mailUid = root ? NOBODY_ID : me.uid;
  const mailGid = root ? NOBODY_ID : me.gid;
  if (root) fs.chownSync(path.join(dir, 'home'), mailUid, mailGid);
  const users = Array.from({ length: count }, (_, i) => ({ user: `u${String(i + 1).padStart(4, '0')}@bench.test`, pass: `pw-${i + 1}` }));
  fs.writeFileSync(path.join(dir, 'passwd'), users.map((u) => `${u.user}:{PLAIN}${u.pass}::::::\n`).join(''), { mode: 0o644 });
  const port = await findFreePort();
  fs.writeFileSync(
    path.join(dir, 'dovecot.conf'),
    `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = outreach-bench-imap-${port}
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = ${root ? 'dovecot' : me.username}
default_internal_group = ${root ? 'dovecot' : groupName(me.gid)}
default_login_user = ${root ? 'dovenull' : me.username}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${mailUid} gid=${mailGid} home=${dir}/home/%u
}
namespace inbox {
  inbox = yes
  separator = /
}
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
`,
  );
  const child: ChildProcess = spawn(DOVECOT, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (running) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      if (running) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await greetsWith(port, '* OK'))) {
    if (!running || Date.now() > deadline) {
      await stop();
      throw new Error(`dovecot did not start on 127.0.0.1:${port}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    host: '127.0.0.1',
    port,
    users,
    pid: child.pid ?? 0,
    deliver(user, raw) {
      // Maildir delivery: write in tmp/, then rename into new/ (atomic for the reader).
      const maildir = path.join(dir, 'home', user, 'Maildir');
      for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
      const name = `${Math.floor(Date.now() / 1000)}.${crypto.randomBytes(6).toString('hex')}.bench`;
      fs.writeFileSync(path.join(maildir, 'tmp', name), raw);
      if (root) {
        for (const p of [path.join(dir, 'home', user), maildir, ...['tmp', 'new', 'cur'].map((sub) => path.join(maildir, sub)), path.join(maildir, 'tmp', name)]) fs.chownSync(p, mailUid, mailGid);
      }
      fs.renameSync(path.join(maildir, 'tmp', name), path.join(maildir, 'new', name));
    },
    stop,
  };
}
