// Starts a throwaway PostgreSQL cluster with the embedded binaries (as root: run as `postgres`, files under
// /var/lib/process-requests), creates one database, writes its URL to a file, and runs until SIGTERM or
// SIGINT, then stops and removes the cluster. Used by scripts/check-production.sh on a pruned tree, so it
// needs no dev dependency.  Usage: node dist/scripts/throwaway-postgres.js PARENT_DIR URL_FILE [DATABASE]
import { writeFileSync } from 'node:fs';
import { Client } from 'pg';
import { pgConnectionOptions } from '../src/infra/database-url';
import { PostgresCluster, temporaryDataDir } from '../src/infra/postgres-cluster';
import { freePort } from '../src/infra/free-port';

async function main(): Promise<void> {
  const [parent, urlFile, database = 'process_requests'] = process.argv.slice(2);
  if (!parent || !urlFile) throw new Error('usage: throwaway-postgres PARENT_DIR URL_FILE [DATABASE]');
  const cluster = new PostgresCluster({
    dataDir: temporaryDataDir(parent),
    port: await freePort(),
    temporary: true,
  });
  const stop = () =>
    void cluster.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await cluster.initialise();
  await cluster.start();
  const admin = new Client(pgConnectionOptions(cluster.url('postgres')));
  await admin.connect();
  await admin.query(`create database "${database}"`);
  await admin.end();
  writeFileSync(urlFile, `${cluster.url(database)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`throwaway-postgres: ${(error as Error).message}\n`);
  process.exit(1);
});
