/**
 * `npm start` / `npm test` build only when the build's inputs changed (scripts/build-if-changed.js),
 * run here on a throw-away project whose `build` script counts its runs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../scripts/build-if-changed.js');

function makeProject(buildCommand: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-if-changed-'));
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.mkdirSync(path.join(root, 'src'));
  fs.copyFileSync(SCRIPT, path.join(root, 'scripts', 'build-if-changed.js'));
  fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
  setBuild(root, buildCommand);
  return root;
}

function setBuild(root: string, buildCommand: string): void {
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'p', private: true, scripts: { build: buildCommand } }));
}

/** A build that records each run and produces dist/src/main.js, as the real one does. */
const COUNTING_BUILD = `node -e "const fs=require('fs');fs.mkdirSync('dist/src',{recursive:true});fs.writeFileSync('dist/src/main.js','');fs.appendFileSync('builds','x')"`;

function run(root: string): { status: number; builds: number } {
  let status = 0;
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-changed.js')], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    status = (error as { status: number }).status;
  }
  const builds = fs.existsSync(path.join(root, 'builds')) ? fs.readFileSync(path.join(root, 'builds'), 'utf8').length : 0;
  return { status, builds };
}

describe('building only when sources changed', () => {
  it('builds the first time, not again while nothing changed, and again after a source edit', () => {
    const root = makeProject(COUNTING_BUILD);
    expect(run(root)).toEqual({ status: 0, builds: 1 });
    expect(run(root)).toEqual({ status: 0, builds: 1 });
    fs.utimesSync(path.join(root, 'src', 'a.ts'), new Date(), new Date(Date.now() + 60_000));
    expect(run(root)).toEqual({ status: 0, builds: 1 }); // a touched file with the same content is no change
    fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 2;\n');
    expect(run(root)).toEqual({ status: 0, builds: 2 });
    fs.writeFileSync(path.join(root, 'src', 'b.ts'), 'export const b = 1;\n');
    expect(run(root)).toEqual({ status: 0, builds: 3 });
  });

  it('rebuilds when the output is gone', () => {
    const root = makeProject(COUNTING_BUILD);
    expect(run(root).builds).toBe(1);
    fs.rmSync(path.join(root, 'dist', 'src', 'main.js'));
    expect(run(root).builds).toBe(2);
  });

  it('fails with the build, and tries again next time instead of trusting a failed build', () => {
    const root = makeProject(`node -e "require('fs').appendFileSync('builds','x');process.exit(3)"`);
    expect(run(root)).toEqual({ status: 1, builds: 1 });
    expect(run(root)).toEqual({ status: 1, builds: 2 });
  });
});
