/**
 * The PM2 daemon holds about 11 file descriptors per app at rest and more while apps start;
 * when it runs out it crashes and orphans every worker. The daemon inherits the descriptor
 * limit of the process that spawns it (this server), so check that limit against the fleet.
 */
import fs from 'node:fs';

export const FDS_PER_WORKER = 12;
export const FDS_RESERVE = 512;

export interface FdLimit {
  soft: number;
  hard: number;
}

/** Reads "Max open files" from /proc/<pid>/limits ("unlimited" → Infinity). */
export function readFdLimit(pid: number | 'self' = 'self'): FdLimit | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match) return undefined;
  const parse = (v: string | undefined) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number.parseInt(v ?? '', 10));
  return { soft: parse(match[1]), hard: parse(match[2]) };
}

export function requiredFds(workerCount: number): number {
  return workerCount * FDS_PER_WORKER + FDS_RESERVE;
}

/** undefined when the limit suffices; otherwise a message that says what to do. */
export function describeFdShortage(limit: FdLimit | undefined, workerCount: number): string | undefined {
  if (!limit) return undefined;
  const needed = requiredFds(workerCount);
  if (limit.soft >= needed) return undefined;
  const target = Math.max(needed, 65536);
  return (
    `open-file limit too low for ${workerCount} workers: soft limit ${limit.soft} (hard ${limit.hard}), need about ${needed} ` +
    `(${FDS_PER_WORKER} per worker in the PM2 daemon plus ${FDS_RESERVE}). The PM2 daemon crashes when it runs out and ` +
    `orphans every worker. Fix: start the server with a higher limit, e.g. \`ulimit -n ${target}\` in the shell that runs ` +
    `\`pm2 start ecosystem.config.js\`, LimitNOFILE=${target} in its systemd unit, or "nofile ${target}" in ` +
    `/etc/security/limits.conf; then restart the PM2 daemon (\`pm2 kill\`) so it inherits the new limit.`
  );
}
