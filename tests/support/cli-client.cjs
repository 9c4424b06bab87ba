// `node tests/support/cli-client.cjs COMMAND [flags]`: what `npm run --silent cli -- COMMAND [flags]` prints
// and exits with, the command run by the test's own process (tests/support/cli-server.ts) instead of a
// fresh one that would load the whole service again. Its arguments and environment are the command's.
/* global require */
/* eslint-disable @typescript-eslint/no-require-imports */
const { request } = require('node:http');

const { CLI_SERVER_URL: url, ...env } = process.env;
const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => (text += chunk));
  res.on('end', () => {
    const { code, stdout, stderr } = JSON.parse(text);
    process.stdout.write(stdout, () => process.stderr.write(stderr, () => process.exit(code)));
  });
});
req.on('error', (error) => {
  process.stderr.write(`error: the test's CLI server did not answer (${error.message})\n`, () =>
    process.exit(1),
  );
});
req.end(JSON.stringify({ argv: process.argv.slice(2), env }));
