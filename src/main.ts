// The service's entry point: configuration, embedded dependencies when asked, migrations, demo data, listen.
import 'reflect-metadata';
import 'dotenv/config';
import { createApp, type App } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { migrate, openDatabase } from './db';
import { StartupError } from './infra/startup-error';
import { startAzurite, startEmbeddedPostgres, type Running } from './infra/embedded';
import { demoBanner, originOf } from './demo-banner';
import { createLogger, type Logger } from './logger';

async function start(config: Config, log: Logger): Promise<void> {
  const embedded: Running[] = [];
  let stoppingEmbedded: Promise<void> | undefined;
  // Once, whoever asks (a stop, a failed start, a crash): the last started is stopped first.
  const stopEmbedded = () =>
    (stoppingEmbedded ??= (async () => {
      for (const dep of [...embedded].reverse())
        await dep.stop().catch((e) => log.warn({ err: e }, 'stopping a dependency failed'));
    })());
  stopOnCrash(log, stopEmbedded);
  const demo =
    !config.production && !config.databaseUrl && !config.storageConnectionString && !config.storageAccountUrl;
  let app: App | undefined;
  try {
    if (!config.databaseUrl) {
      const pg = await startEmbeddedPostgres(config.dataDir, log, config.embeddedPostgresPort);
      embedded.push(pg);
      config = { ...config, databaseUrl: pg.url };
    }
    if (!config.storageConnectionString && !config.storageAccountUrl) {
      const azurite = await startAzurite(config.dataDir, log, config.azuritePort);
      embedded.push(azurite);
      config = { ...config, storageConnectionString: azurite.url };
    }
    const orm = await openDatabase({ url: config.databaseUrl!, sslCa: config.databaseSslCa }, log);
    const applied = await migrate(orm).finally(() => orm.close(true));
    if (applied.length > 0) log.info({ applied }, 'migrations applied');

    app = await createApp(config, { logger: log });
    const address = await app.listen();
    const origin = originOf(address);
    log.info({ url: origin }, 'listening');
    const metrics = app.metricsAddress();
    if (metrics) log.info({ url: `${originOf(metrics)}/metrics` }, 'metrics listening');
    if (demo) process.stdout.write(await demoBanner(app, origin));

    const running = app;
    let stopping = false;
    // A requested stop (Ctrl-C, SIGTERM) is routine: info lines only. The service closes first (its
    // streams, background loops and connections), then the embedded servers it started.
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      await running.close().catch((e) => log.error({ err: e }, 'close failed'));
      await stopEmbedded();
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  } catch (error) {
    // Half a start is no start: what did start is stopped quietly before the one line is printed.
    await app?.close().catch((e) => log.debug({ err: e }, 'closing after a failed start'));
    await stopEmbedded();
    throw error;
  }
}

/** How long a crash waits for the embedded servers to stop before it exits anyway. */
const CRASH_STOP_MS = 10_000;

/**
 * An error nothing caught (an unhandled rejection is raised as one) leaves a process no one can vouch for:
 * it is logged whole at fatal, the embedded servers this process started are stopped, so none is left
 * running without it, and the process exits 1. It does not try to serve on or to close its connections
 * gracefully; further errors while it stops are not logged again.
 */
function stopOnCrash(log: Logger, stopEmbedded: () => Promise<void>): void {
  let crashed = false;
  process.on('uncaughtException', (error, origin) => {
    if (crashed) return;
    crashed = true;
    process.exitCode = 1;
    log.fatal({ err: error, origin }, 'uncaught error: the process stops');
    setTimeout(() => process.exit(1), CRASH_STOP_MS);
    void stopEmbedded().finally(() => process.exit(1));
  });
}

/** One line on standard error, naming what to change; the stack only at debug. Exit 1. */
function fail(lines: string[], log?: Logger, error?: unknown): never {
  if (log && error) log.debug({ err: error }, 'start-up failed');
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exit(1);
}

function main(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.problems.map((problem) => `config error: ${problem}`));
    throw error;
  }
  const log = createLogger(config.logLevel);
  start(config, log).catch((error: unknown) => {
    // A StartupError names the setting; anything else is still one line (its first), the rest at debug.
    const message =
      error instanceof StartupError
        ? error.message
        : (String((error as Error)?.message ?? error).split('\n')[0] ?? 'unknown failure');
    fail([`start-up error: ${message}`], log, error);
  });
}

main();
