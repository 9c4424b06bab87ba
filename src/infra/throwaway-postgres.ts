// Throwaway databases for the schema tools (npm run db:check, npm run migration:create): made on the
// server of DATABASE_URL, or on an embedded PostgreSQL started for the occasion; all gone at close().
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import type { Logger } from '../logger';
import { startEmbeddedPostgres } from './embedded';
import { freePort } from './free-port';

export interface ThrowawayServer {
  /** Creates an empty database and returns its URL. */
  createDatabase(prefix: string): Promise<string>;
  /** Drops every database it created (and stops the embedded server, removing its files). */
  close(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function onServer<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * `databaseUrl` set: its server (the user must be allowed to create databases). Unset: an embedded
 * PostgreSQL whose files live in `dir` (inside the project: the `postgres` user must reach them when run as root).
 */
export async function openThrowawayServer(
  databaseUrl: string | undefined,
  dir: string,
  log: Logger,
): Promise<ThrowawayServer> {
  let adminUrl = databaseUrl;
  let stopEmbedded = async () => {};
  if (!adminUrl) {
    rmSync(dir, { recursive: true, force: true });
    const embedded = await startEmbeddedPostgres(dir, log, await freePort());
    adminUrl = embedded.url;
    stopEmbedded = async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const admin = adminUrl;
  const created: string[] = [];
  return {
    async createDatabase(prefix) {
      const name = `${prefix}_${randomBytes(6).toString('hex')}`;
      await onServer(admin, (client) => client.query(`create database "${name}"`));
      created.push(name);
      return withDatabase(admin, name);
    },
    async close() {
      try {
        await onServer(admin, async (client) => {
          for (const name of created.splice(0)) {
            await client.query(`drop database if exists "${name}" with (force)`);
          }
        });
      } finally {
        await stopEmbedded();
      }
    },
  };
}
