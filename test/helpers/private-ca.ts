/**
 * A private certificate authority made by the test with the openssl CLI (OpenSSL ≥ 1.1.1), like
 * the one an operator's relay would use: its PEM file is what WORKER_NODE_EXTRA_CA_CERTS names.
 * Server certificates are issued for an IP address and/or DNS names, or already expired.
 * Node's crypto cannot make X.509 certificates, and openssl is on every Debian machine.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ServerCertificate {
  key: string;
  cert: string;
}

export interface PrivateCa {
  /** The CA certificate as a PEM file. */
  caFile: string;
  caPem: string;
  issue(options: { ip?: string; dns?: string[]; expired?: boolean }): ServerCertificate;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

/** A new CA in `dir` (created if missing) named `name`. */
export function createPrivateCa(dir: string, name: string): PrivateCa {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`, '-subj', `/CN=${name} test CA`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  let serial = 0;
  return {
    caFile: path.join(dir, `${name}-ca.pem`),
    caPem: fs.readFileSync(path.join(dir, `${name}-ca.pem`), 'utf8'),
    issue({ ip, dns = [], expired = false }) {
      serial += 1;
      const base = `${name}-server-${serial}`;
      const names = [...(ip ? [`IP:${ip}`] : []), ...dns.map((d) => `DNS:${d}`)];
      fs.writeFileSync(path.join(dir, `${base}.ext`), `subjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth\n`);
      openssl(dir, ['req', ...ec, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${dns[0] ?? ip ?? 'server'}`]);
      // -days -1: valid until a day before it was issued, i.e. already expired.
      openssl(dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`, '-set_serial', String(serial), '-days', expired ? '-1' : '2', '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
      return { key: fs.readFileSync(path.join(dir, `${base}.key`), 'utf8'), cert: fs.readFileSync(path.join(dir, `${base}.pem`), 'utf8') };
    },
  };
}
