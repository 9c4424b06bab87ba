// The service's entry point: configuration, embedded dependencies when asked, migrations, demo data, listen.
import 'reflect-metadata';
import 'dotenv/config';
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { migrate, openDatabase } from './db';
import { StartupError } from './infra/startup-error';
import { startAzurite, startEmbeddedPostgres, type Running } from './infra/embedded';
import { demoBanner, originOf } from './demo-banner';
import { createLogger, type Logger } from './logger';

async function start(config: Config, log: Logger): Promise<void> {
  const embedded: Running[] = [];
  const stopEmbedded = async () => {
    for (const dep of embedded.reverse())
      await dep.stop().catch((e) => log.warn({ err: e }, 'stopping a dependency failed'));
  };
  const demo =
    !config.production && !config.databaseUrl && !config.storageConnectionString && !config.storageAccountUrl;
  try {
    if (!config.databaseUrl) {
      const pg = await startEmbeddedPostgres(config.dataDir, log);
      embedded.push(pg);
      config = { ...config, databaseUrl: pg.url };
    }
    if (!config.storageConnectionString && !config.storageAccountUrl) {
      const azurite = await startAzurite(config.dataDir, log);
      embedded.push(azurite);
      config = { ...config, storageConnectionString: azurite.url };
    }
    const orm = await openDatabase({ url: config.databaseUrl!, sslCa: config.databaseSslCa }, log);
    const applied = await migrate(orm).finally(() => orm.close(true));
    if (applied.length > 0) log.info({ applied }, 'migrations applied');

    const app = await createApp(config, { logger: log });
    const address = await app.listen();
    const origin = originOf(address);
    log.info({ url: origin }, 'listening');
    const metrics = app.metricsAddress();
    if (metrics) log.info({ url: `${originOf(metrics)}/metrics` }, 'metrics listening');
    if (demo) process.stdout.write(await demoBanner(app, origin));

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
    // A database or storage account the configuration cannot use as asked: one line, no stack.
    if (error instanceof StartupError) process.stderr.write(`start-up error: ${error.message}\n`);
    else log.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  });
}

main();
