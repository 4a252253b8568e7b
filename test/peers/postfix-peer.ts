/**
 * A real MTA for tests: Debian's Postfix (installed by scripts/test-prerequisites.sh, which
 * never lets the system service start), run as a PRIVATE instance per test file: its own
 * config, queue and data directories in a temp dir, smtpd on a free loopback port, every
 * outside domain relayed to one "remote MX" (a scripted smtp-server from test/helpers/smtp-peer),
 * and mail for our own addresses (the senders, so also Postfix's bounces) delivered by Postfix's
 * `virtual` agent into maildirs that the test's Dovecot (test/peers/imap-peer) serves.
 *
 * So a message the platform submits is accepted here first; when the remote MX then refuses
 * it, the refusal comes back as a real Postfix DSN in the sender's mailbox, as in production.
 *
 * Postfix's master must run as root (it drops to its `postfix` user); the /etc/postfix of the
 * system is only read (postfix-files, the master.cf template), never written.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { findFreePort, greetsWith } from '../../scripts/local-daemons';

const run = promisify(execFile);
const POSTFIX = '/usr/sbin/postfix';
const SYSTEM_CONFIG = '/etc/postfix';
/** Debian's nobody / nogroup: Dovecot (test/peers/imap-peer) reads mail as this user when root. */
const NOBODY_ID = 65534;
const START_TIMEOUT_MS = 20_000;

export interface PostfixPeerOptions {
  /** Where every mail for an address not in `mailboxes` goes: the scripted remote MX. */
  relayTo: { host: string; port: number };
  /** Our own addresses and the maildir (absolute path) each is delivered to, e.g. ImapPeer.maildir. */
  mailboxes: Record<string, string>;
  /** Dovecot's auth socket (ImapPeer.authSocket): smtpd then offers AUTH for the Dovecot users. */
  saslDovecotSocket?: string;
  /** How long a refused-for-now message stays queued before it bounces (default 4m, as the fixtures). */
  maximalQueueLifetime?: string;
  /** When the sender gets a "delayed" DSN (default 45s, as the fixtures; "0" turns it off). */
  delayWarningTime?: string;
}

export interface PostfixPeer {
  host: string;
  /** Postfix's smtpd: accepts from 127.0.0.1 with or without AUTH, for our addresses and to relay. */
  port: number;
  /** The instance's own directory (main.cf, queue, postfix.log). */
  dir: string;
  /** Submits a raw message to this Postfix over SMTP (as a contact's mail server would deliver it). */
  submit(envelope: { from: string; to: string }, raw: string | Buffer): Promise<void>;
  /** Postfix's own log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Postfix's `inline:` table syntax: `{ key=value, ... }`. */
function inlineMap(entries: Record<string, string>): string {
  return `inline:{ ${Object.entries(entries)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ')} }`;
}

function mainCf(dir: string, port: number, options: PostfixPeerOptions): string {
  const maildirs = Object.fromEntries(Object.entries(options.mailboxes).map(([address, maildir]) => [address.toLowerCase(), maildir.endsWith('/') ? maildir : `${maildir}/`]));
  const domains = [...new Set(Object.keys(maildirs).map((address) => address.split('@')[1]))];
  return `
compatibility_level = 3.6
config_directory = ${dir}
meta_directory = ${dir}
queue_directory = ${dir}/queue
data_directory = ${dir}/data
maillog_file = ${dir}/postfix.log
maillog_file_prefixes = ${dir}
syslog_name = postfix-peer-${port}
myhostname = mta.postfix-peer.test
mydomain = postfix-peer.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
${options.saslDovecotSocket ? `smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\nsmtpd_sasl_path = ${options.saslDovecotSocket}\n` : ''}smtpd_recipient_restrictions =
biff = no
notify_classes =
# Loopback only: no DNS, no TLS.
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
relayhost = [${options.relayTo.host}]:${options.relayTo.port}
# Our own addresses: delivered into the Dovecot maildirs, as the mail user Dovecot reads as.
virtual_mailbox_domains = ${domains.join(', ')}
virtual_mailbox_maps = ${inlineMap(maildirs)}
virtual_mailbox_base = /
virtual_minimum_uid = 1
virtual_uid_maps = static:${NOBODY_ID}
virtual_gid_maps = static:${NOBODY_ID}
# Short enough that delays and expiries happen within a test.
delay_warning_time = ${options.delayWarningTime ?? '45s'}
maximal_queue_lifetime = ${options.maximalQueueLifetime ?? '4m'}
bounce_queue_lifetime = ${options.maximalQueueLifetime ?? '4m'}
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
`;
}

/** The system master.cf with our smtpd address and no chroot (a chroot would need copies of /etc). */
function masterCf(port: number): string {
  return fs
    .readFileSync(path.join(SYSTEM_CONFIG, 'master.cf'), 'utf8')
    .split('\n')
    .map((line) => {
      if (line.startsWith('#') || /^\s/.test(line) || !line.trim()) return line;
      const fields = line.split(/\s+/);
      if (fields[0] === 'smtp' && fields[1] === 'inet') fields[0] = `127.0.0.1:${port}`;
      if (fields[4] === 'y') fields[4] = 'n';
      return fields.join(' ');
    })
    .join('\n');
}

/** Postfix's mail_owner, created by the Debian package. */
function postfixUid(): number {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postfix:'));
  if (!line) throw new Error('no postfix user: install Debian\'s postfix (scripts/test-prerequisites.sh does)');
  return Number(line.split(':')[2]);
}

/** Pids of the processes under `pid` (Postfix's master and its daemons), from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const child of children.get(p) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

export async function startPostfixPeer(options: PostfixPeerOptions): Promise<PostfixPeer> {
  if (!fs.existsSync(POSTFIX)) throw new Error(`${POSTFIX} not found: install Debian's postfix (scripts/test-prerequisites.sh does)`);
  if (process.getuid?.() !== 0) throw new Error('the Postfix test peer needs root: Postfix master starts as root and drops to its postfix user');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postfix-peer-'));
  fs.chmodSync(dir, 0o755);
  const port = await findFreePort();
  fs.writeFileSync(path.join(dir, 'main.cf'), mainCf(dir, port, options));
  fs.writeFileSync(path.join(dir, 'master.cf'), masterCf(port));
  // `postfix check` (run by start) reads the file list from meta_directory and creates the queue.
  for (const file of ['postfix-files', 'dynamicmaps.cf']) fs.copyFileSync(path.join(SYSTEM_CONFIG, file), path.join(dir, file));
  for (const sub of ['postfix-files.d', 'dynamicmaps.cf.d', 'queue', 'data']) fs.mkdirSync(path.join(dir, sub));
  fs.chownSync(path.join(dir, 'data'), postfixUid(), -1);
  // Postfix's virtual agent creates the maildirs as nobody: it needs to get through their parents.
  for (const maildir of Object.values(options.mailboxes)) {
    const parent = path.dirname(maildir.replace(/\/$/, ''));
    fs.mkdirSync(parent, { recursive: true });
    fs.chownSync(parent, NOBODY_ID, NOBODY_ID);
  }

  const postfix = (command: string) => run(POSTFIX, ['-c', dir, command], { env: { ...process.env, MAIL_CONFIG: dir } });
  const logText = () => (fs.existsSync(path.join(dir, 'postfix.log')) ? fs.readFileSync(path.join(dir, 'postfix.log'), 'utf8') : '');
  const masterPid = () => {
    try {
      return Number(fs.readFileSync(path.join(dir, 'queue', 'pid', 'master.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const master = masterPid();
    const leftovers = master ? [master, ...descendants(master)] : [];
    await postfix('stop').catch(() => undefined);
    // `postfix stop` returns before every daemon has gone: wait for them, then kill what is left.
    const deadline = Date.now() + 5000;
    const alive = () => leftovers.filter((pid) => fs.existsSync(`/proc/${pid}`));
    while (alive().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const pid of alive()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    process.removeListener('exit', killOnExit);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies without stop() must not leave a Postfix behind.
  const killOnExit = () => {
    const master = masterPid();
    if (!master) return;
    for (const pid of [master, ...descendants(master)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.once('exit', killOnExit);

  try {
    await postfix('start');
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await greetsWith(port, '220'))) {
      if (Date.now() > deadline) throw new Error(`postfix did not answer on 127.0.0.1:${port}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    const log = logText();
    await stop();
    throw new Error(`${(error as Error).message}\n${(error as { stderr?: string }).stderr ?? ''}\n${log}`.trim(), { cause: error });
  }

  return {
    host: '127.0.0.1',
    port,
    dir,
    async submit(envelope, raw) {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      try {
        await transport.sendMail({ envelope, raw });
      } finally {
        transport.close();
      }
    },
    log: logText,
    stop,
  };
}
