/**
 * What the private mail daemons started by tests and benches (Dovecot, Postfix) share: knowing
 * when one answers, and naming a group for their configs. Under scripts/ so the benches (built)
 * and the test peers (not built) use the same code; free ports come from findFreePort.
 */
import fs from 'node:fs';
import net from 'node:net';

export { findFreePort } from '../src/db/embedded-postgres';

/** True once the server on 127.0.0.1:port sends a greeting starting with `prefix` (`* OK`, `220`). */
export async function greetsWith(port: number, prefix: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith(prefix)));
    socket.once('error', () => done(false));
  });
}

/** The name of a group id (Dovecot takes names), from /etc/group. */
export function groupName(gid: number): string {
  const line = fs
    .readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[2] === String(gid));
  return line?.split(':')[0] ?? String(gid);
}
