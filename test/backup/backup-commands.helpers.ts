/** `npm run backup` / `npm run restore` as an operator runs them: the compiled scripts as child processes. */
import { execFile } from 'node:child_process';
import path from 'node:path';

const scripts = path.join(__dirname, '../../dist/scripts');

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs dist/scripts/<script>.js; `env` entries set to undefined are removed from this process's environment. */
export function runCommand(script: 'backup' | 'restore', args: string[], env: Record<string, string | undefined>): Promise<CommandRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error', ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(scripts, `${script}.js`), ...args], { env: childEnv, timeout: 180_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
