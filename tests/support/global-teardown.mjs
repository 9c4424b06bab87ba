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
  // On a server the run did not start (DATABASE_URL given), the template is the run's to remove.
  if (run.template && !run.pg) {
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: run.template.adminUrl });
    await admin.connect();
    await admin
      .query(`drop database if exists "${run.template.name}" with (force)`)
      .finally(() => admin.end());
  }
  if (run.pg) await run.pg.stop();
  rmSync(run.root, { recursive: true, force: true });
}
