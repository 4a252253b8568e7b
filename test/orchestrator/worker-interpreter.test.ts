/**
 * PM2 runs workers under a link to this Node whose name does not end in `node`, so it spawns
 * `node <worker>` itself instead of through its ProcessContainerFork wrapper (pm2-supervisor.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workerInterpreter } from '../../src/orchestrator/pm2-supervisor';

let binDir: string;
beforeEach(() => {
  binDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-interpreter-')), 'bin');
});
afterEach(() => fs.rmSync(path.dirname(binDir), { recursive: true, force: true }));

it('is a link to this Node that PM2 does not take for Node', () => {
  const link = workerInterpreter(binDir);
  expect(fs.readlinkSync(link)).toBe(process.execPath);
  // PM2 wraps any interpreter matching /node$/ (God/ForkMode.js).
  expect(path.basename(link)).not.toMatch(/node$/);
  expect(fs.realpathSync(link)).toBe(fs.realpathSync(process.execPath));
});

it('is left alone when right, and replaced when it points at another Node', () => {
  const link = workerInterpreter(binDir);
  const inode = fs.lstatSync(link).ino;
  expect(workerInterpreter(binDir)).toBe(link);
  expect(fs.lstatSync(link).ino).toBe(inode);

  fs.rmSync(link);
  fs.symlinkSync('/usr/bin/an-older-node', link);
  workerInterpreter(binDir);
  expect(fs.readlinkSync(link)).toBe(process.execPath);
  expect(fs.readdirSync(binDir)).toEqual([path.basename(link)]);
});
