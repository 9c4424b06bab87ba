// `node -r ./tests/support/swc-register.cjs src/main.ts`: runs the service from its TypeScript sources,
// compiled file by file with the same swc options as jest (decorator metadata kept), in a fraction of a
// second instead of a tsc build. For tests that start the service (or the CLI) as a real child process.
// Each compiled file is kept in .cache/swc-register under a hash of its path, its text, the options and
// swc's version, so the many child processes of a run compile each source once; a changed file gets a
// new entry. Entries are written to a temporary name and renamed, so parallel processes never read half
// of one.
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const path = require('node:path');
// swc itself (a native module) is loaded only when a file is not in the cache yet.
const { version } = require('@swc/core/package.json');

const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

const CACHE = path.resolve(__dirname, '../../.cache/swc-register');
const salt = `${version}\n${JSON.stringify(options)}\n`;

function compile(source, filename) {
  const key = createHash('sha256').update(salt).update(filename).update('\n').update(source).digest('hex');
  const file = path.join(CACHE, `${key}.js`);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // not compiled yet
  }
  const { code } = require('@swc/core').transformSync(source, { ...options, filename });
  try {
    mkdirSync(CACHE, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  } catch {
    // a cache that cannot be written only costs the next process a compile
  }
  return code;
}

require.extensions['.ts'] = (module, filename) => {
  module._compile(compile(readFileSync(filename, 'utf8'), filename), filename);
};
