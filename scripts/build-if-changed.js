/**
 * `npm start`, `npm test`, `npm run migrate` … build only when what the build reads has
 * changed since the last build: a full build takes 10–50 s on a small machine, a check well
 * under a second. The stamp is a hash of every input file's path and content (not mtimes,
 * which a checkout or copy changes without changing anything), written to dist/ after a
 * build that succeeded, so a failed or interrupted build is tried again next time.
 *
 * Plain JavaScript, run by node directly: it has to work before anything is compiled.
 */
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const STAMP = path.join(root, 'dist', '.build-stamp');
/** What `npm run build` compiles or bundles, and the files that change how it does. */
const INPUT_DIRS = ['src', 'workers', 'db', 'scripts'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  return entries.flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(full);
    return entry.isFile() ? [full] : [];
  });
}

function inputHash() {
  const hash = crypto.createHash('sha256');
  const files = [...INPUT_DIRS.flatMap((dir) => listFiles(path.join(root, dir))), ...INPUT_FILES.map((file) => path.join(root, file))];
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function main() {
  const wanted = inputHash();
  const built = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, 'utf8').trim() : '';
  if (built === wanted && fs.existsSync(path.join(root, 'dist', 'src', 'main.js'))) return;
  process.stdout.write(built ? 'sources changed since the last build: building\n' : 'no build yet: building\n');
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  } catch {
    process.exit(1); // the build printed why
  }
  fs.writeFileSync(STAMP, `${wanted}\n`);
}

main();
