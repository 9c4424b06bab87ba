import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const run = globalThis.__TEST_RUN__;
  if (!run) return;
  if (run.azurite && run.azurite.exitCode === null) {
    await new Promise((resolve) => {
      run.azurite.once('exit', resolve);
      run.azurite.kill('SIGTERM');
    });
  }
  if (run.pg) await run.pg.stop();
  rmSync(run.root, { recursive: true, force: true });
}
