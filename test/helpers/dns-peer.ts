/**
 * Real DNS servers on a free loopback port, private to a test: dnsmasq serving the records a
 * test gives (authoritative for its zones, so unknown names are NXDOMAIN), and rbldnsd serving
 * DNSBL / domain-blocklist zones. Never the system services: each runs in the foreground as a
 * child of the test and is killed by close().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resolver } from 'node:dns/promises';

export interface DnsPeer {
  /** "127.0.0.1:<port>", for dns.servers. */
  server: string;
  close(): Promise<void>;
}

export interface DnsZoneRecords {
  /** Local zones: names under them that are not given answer NXDOMAIN. */
  zones: string[];
  txt?: Array<[name: string, text: string]>;
  /** A and the matching PTR (forward-confirmed reverse DNS). */
  hosts?: Array<[name: string, ip: string]>;
  /** A only: no PTR for the address. */
  addresses?: Array<[name: string, ip: string]>;
  mx?: Array<[domain: string, host: string, priority: number]>;
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A TXT value as dnsmasq takes it: quoted character-strings of at most 255 bytes. */
const txtStrings = (text: string) => (text.match(/.{1,255}/g) ?? ['']).map((chunk) => `"${chunk}"`).join(',');

async function waitUntilAnswering(server: string, probe: string, child: ChildProcess, output: () => string): Promise<void> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([server]);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`DNS server exited (${child.exitCode}): ${output()}`);
    try {
      await resolver.resolve(probe, 'A');
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`DNS server on ${server} does not answer: ${output()}`);
}

function start(command: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

export async function startDnsmasq(records: DnsZoneRecords): Promise<DnsPeer> {
  const port = await freeUdpPort();
  // A configuration file, not arguments: dnsmasq unquotes TXT strings only there.
  const lines = [
    'no-resolv',
    'no-hosts',
    'no-poll',
    'bind-interfaces',
    'listen-address=127.0.0.1',
    `port=${port}`,
    'pid-file=',
    'user=root',
    // Reverse names are ours too: an address without a PTR is NXDOMAIN, not REFUSED.
    ...[...records.zones, 'in-addr.arpa'].map((zone) => `local=/${zone}/`),
    ...(records.txt ?? []).map(([name, text]) => `txt-record=${name},${txtStrings(text)}`),
    ...(records.hosts ?? []).map(([name, ip]) => `host-record=${name},${ip}`),
    ...(records.addresses ?? []).map(([name, ip]) => `address=/${name}/${ip}`),
    ...(records.mx ?? []).map(([domain, host, priority]) => `mx-host=${domain},${host},${priority}`),
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnsmasq-'));
  const conf = path.join(dir, 'dnsmasq.conf');
  fs.writeFileSync(conf, `${lines.join('\n')}\n`);
  const { child, output } = start('/usr/sbin/dnsmasq', ['--keep-in-foreground', '--log-facility=-', `--conf-file=${conf}`]);
  const server = `127.0.0.1:${port}`;
  await waitUntilAnswering(server, `probe.${records.zones[0]}`, child, output);
  return {
    server,
    close: async () => {
      await stop(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** rbldnsd zones: `ip4set` (addresses) or `dnset` (domains), each given as rbldnsd data lines. */
export async function startRbldnsd(zones: Array<{ zone: string; type: 'ip4set' | 'dnset'; lines: string[] }>): Promise<DnsPeer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbldnsd-'));
  // rbldnsd refuses to run as root: it reads its zones as nobody.
  fs.chmodSync(dir, 0o755);
  for (const z of zones) fs.writeFileSync(path.join(dir, z.zone), `${z.lines.join('\n')}\n`, { mode: 0o644 });
  const port = await freeUdpPort();
  const { child, output } = start('/usr/sbin/rbldnsd', ['-n', '-q', '-u', 'nobody', '-r', dir, '-b', `127.0.0.1/${port}`, ...zones.map((z) => `${z.zone}:${z.type}:${z.zone}`)]);
  const server = `127.0.0.1:${port}`;
  await waitUntilAnswering(server, `2.0.0.127.${zones[0]!.zone}`, child, output);
  return {
    server,
    close: async () => {
      await stop(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
