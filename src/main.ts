// The service's entry point: configuration, embedded dependencies when asked, migrations, demo data, listen.
import 'reflect-metadata';
import 'dotenv/config';
import { createApp, type App } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { mintToken } from './auth/dev-tokens';
import { migrate, openDatabase } from './db';
import { startAzurite, startEmbeddedPostgres, type Running } from './infra/embedded';
import { createLogger, type Logger } from './logger';
import { DEMO_PARTNER_ID, ensureDemoWorld } from './services/demo.service';

const DEMO_TOKEN_TTL_SECONDS = 24 * 3600;

/** An IPv6 address goes in brackets in a URL. */
function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

async function printDemo(app: App, baseUrl: string): Promise<void> {
  const world = await ensureDemoWorld(app.orm.em.fork());
  const appToken = await mintToken(app.config, 'app', 'demo-app', DEMO_TOKEN_TTL_SECONDS);
  const lines = [
    '',
    `  Process requests service is up (${world.created ? 'demo data created' : 'demo data reused'}).`,
    `  GraphQL:   ${baseUrl}/graphql`,
    `  REST base: ${baseUrl}/cms/rest/app/partners/${DEMO_PARTNER_ID}`,
    '',
    '  Tokens (valid 24 h; paste into your shell):',
    `  export BASE=${baseUrl}/cms/rest/app/partners/${DEMO_PARTNER_ID}`,
    `  export APP_TOKEN=${appToken}`,
  ];
  for (const [key, operator] of Object.entries(world.operators)) {
    const token = await mintToken(app.config, 'user', operator.subject, DEMO_TOKEN_TTL_SECONDS);
    lines.push(`  export ${key.toUpperCase()}_TOKEN=${token}`);
  }
  lines.push(
    '',
    '  Try: curl -H "Authorization: Bearer $APP_TOKEN" -H "x-user-token: Bearer $VIEWER_TOKEN" $BASE/balance',
    '',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function start(config: Config, log: Logger): Promise<void> {
  const embedded: Running[] = [];
  const stopEmbedded = async () => {
    for (const dep of embedded.reverse())
      await dep.stop().catch((e) => log.warn({ err: e }, 'stopping a dependency failed'));
  };
  const demo = !config.production && !config.databaseUrl && !config.storageConnectionString;
  try {
    if (!config.databaseUrl) {
      const pg = await startEmbeddedPostgres(config.dataDir, log);
      embedded.push(pg);
      config = { ...config, databaseUrl: pg.url };
    }
    if (!config.storageConnectionString) {
      const azurite = await startAzurite(config.dataDir, log);
      embedded.push(azurite);
      config = { ...config, storageConnectionString: azurite.url };
    }
    const orm = await openDatabase(config.databaseUrl!, log);
    const applied = await migrate(orm).finally(() => orm.close(true));
    if (applied.length > 0) log.info({ applied }, 'migrations applied');

    const app = await createApp(config, { logger: log });
    const address = await app.listen();
    const baseUrl = `http://${address.address}:${address.port}`;
    log.info({ url: baseUrl }, 'listening');
    const metrics = app.metricsAddress();
    if (metrics)
      log.info({ url: `http://${hostForUrl(metrics.address)}:${metrics.port}/metrics` }, 'metrics listening');
    if (demo) await printDemo(app, baseUrl);

    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      await app.close().catch((e) => log.error({ err: e }, 'close failed'));
      await stopEmbedded();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  } catch (error) {
    await stopEmbedded();
    throw error;
  }
}

function main(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  start(config, log).catch((error) => {
    log.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  });
}

main();
