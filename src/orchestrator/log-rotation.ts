/**
 * Size-bounded worker logs. PM2 appends each worker's stdout/stderr to one file under
 * DATA_DIR/logs; with 1,200 workers a rotation module in the daemon would be another
 * process to feed, so the orchestrator rotates on a schedule: a file over `maxBytes` is
 * copied to `<file>.1` (replacing the previous one) and truncated in place. PM2 writes with
 * O_APPEND, so the next line lands at the new end. At most ~2 × maxBytes per worker.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export async function rotateLogs(logDir: string, maxBytes: number): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(logDir);
  } catch {
    return 0;
  }
  let rotated = 0;
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    const file = path.join(logDir, name);
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile() || stat.size <= maxBytes) continue;
      await fs.copyFile(file, `${file}.1`);
      await fs.truncate(file, 0);
      rotated++;
    } catch {
      // A file removed meanwhile is fine; the next run looks again.
    }
  }
  return rotated;
}
