// Runs CLI commands for child processes of a test (tests/support/cli-client.cjs): each request is one
// command's arguments and environment, run by `runCli` (what src/cli.ts runs) in this process; the answer
// is its exit code, standard output and standard error. Loopback only.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { runCli } from '../../src/cli/run';

/** The client a shell calls in place of `node src/cli.ts` (it needs CLI_SERVER_URL in its environment). */
export const CLI_CLIENT = path.join(__dirname, 'cli-client.cjs');

export interface CliServer {
  /** For the client's CLI_SERVER_URL. */
  url: string;
  /** How many commands it ran. */
  commands(): number;
  close(): Promise<void>;
}

export async function startCliServer(): Promise<CliServer> {
  let count = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const { argv, env } = JSON.parse(body) as { argv: string[]; env: NodeJS.ProcessEnv };
      count += 1;
      runCli(argv, env)
        .catch((error: Error) => ({ code: 1, stdout: '', stderr: `error: ${error.message}\n` }))
        .then((result) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(result));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    commands: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
