// Builds the checker console (vite build into dist/console) when it is missing or older than its sources.
// `npm start` and the browser tests run it; `npm run build` always builds.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'dist', 'console', 'index.html');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

const stale = () =>
  !existsSync(built) ||
  statSync(built).mtimeMs <
    Math.max(newest(path.join(root, 'console')), statSync(path.join(root, 'package-lock.json')).mtimeMs);

// One build at a time (parallel test files call this too): the others wait for it, then find it current.
const lock = path.join(root, 'dist', '.console-build.lock');
mkdirSync(path.dirname(lock), { recursive: true });
const deadline = Date.now() + 180_000;
for (;;) {
  try {
    closeSync(openSync(lock, 'wx'));
    break;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    // A lock older than the longest build was left by a build that died.
    if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 180_000)
      rmSync(lock, { force: true });
    if (Date.now() > deadline) throw new Error(`another console build still holds ${lock}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}
try {
  if (stale()) {
    process.stderr.write('building the console (dist/console)\n');
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        '--config',
        'console/vite.config.mts',
      ],
      // A production build whoever calls (jest sets NODE_ENV=test, which would bundle React's development build).
      { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } },
    );
  }
} finally {
  rmSync(lock, { force: true });
}
