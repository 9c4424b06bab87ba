// Builds dist/ with tsc only when a source is newer than the last build, so `npm run cli` and `npm start`
// on a built tree start in a fraction of a second instead of running the compiler on every call.
// The sources are what tsconfig.build.json includes, the tsconfig files and the package manifest.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(root, 'dist', '.build-stamp');
const SOURCES = [
  'src',
  'scripts',
  'mikro-orm.config.ts',
  'tsconfig.json',
  'tsconfig.build.json',
  'package.json',
];

/** The newest modification time under `entry` (a file or a folder), in milliseconds. */
function newest(entry) {
  const stat = statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a file deleted or renamed changes its folder
  for (const name of readdirSync(entry)) latest = Math.max(latest, newest(path.join(entry, name)));
  return latest;
}

function stale() {
  if (process.argv.includes('--force')) return true;
  const built = statSync(STAMP, { throwIfNoEntry: false });
  if (!built || !existsSync(path.join(root, 'dist', 'src', 'main.js'))) return true;
  return SOURCES.some((source) => newest(path.join(root, source)) > built.mtimeMs);
}

if (stale()) {
  // The stamp is taken before compiling: a source saved during the build is newer, and rebuilds next time.
  const started = new Date();
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  writeFileSync(STAMP, `${started.toISOString()}\n`);
  const { utimesSync } = await import('node:fs');
  utimesSync(STAMP, started, started);
}
