// DATABASE_URL → connection options, in one place for every connection the service opens (the ORM's pool,
// the progress LISTEN connection, the CLI and migrations), so `sslmode` means the same thing on each:
//
//   (absent), disable  plain text
//   prefer, require    TLS, the certificate not verified (prefer never falls back to plain text)
//   verify-ca          TLS, the certificate chain verified (DATABASE_SSL_CA, or Node's public CAs)
//   verify-full        verify-ca, and the certificate must name the host of the URL
//   allow              refused: it would start in plain text whenever the server allows it
//
// node-postgres reads `sslmode=require` as verify-full and MikroORM drops the query string altogether;
// neither is handed the URL's query string: they get the options built here.
import { isIP } from 'node:net';
import { userInfo } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { StartupError } from './startup-error';

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface DatabaseTarget {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
  sslMode: SslMode;
}

export interface PgConnectionOptions {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
  ssl: false | ConnectionOptions;
}

/** A DATABASE_URL that cannot be used; the message does not repeat the variable's name. */
export class DatabaseUrlError extends Error {}

/** Parses a postgres:// URL; throws DatabaseUrlError for anything it would otherwise have to ignore. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new DatabaseUrlError('must start with postgres:// or postgresql://');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatabaseUrlError('is not a valid URL');
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!u.hostname) throw new DatabaseUrlError('must name a host');
  if (!database)
    throw new DatabaseUrlError('must name a database (postgres://user:password@host:port/database)');
  let sslMode: SslMode = 'disable';
  for (const [name, value] of u.searchParams) {
    if (name !== 'sslmode') {
      throw new DatabaseUrlError(
        name.startsWith('ssl')
          ? `the parameter ${name} is not supported; give the CA certificate with DATABASE_SSL_CA`
          : `the parameter ${name} is not supported (only sslmode)`,
      );
    }
    if (value === 'allow') {
      throw new DatabaseUrlError(
        'sslmode=allow is not supported (it starts in plain text); use disable, require, verify-ca or verify-full',
      );
    }
    if (!(SSL_MODES as readonly string[]).includes(value)) {
      throw new DatabaseUrlError(
        `sslmode must be one of disable, require, verify-ca, verify-full (got "${value}")`,
      );
    }
    sslMode = value as SslMode;
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 5432,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database,
    sslMode,
  };
}

/** Options for a node-postgres Client (and, through the ORM, for its pool). `ca` is PEM text. */
export function pgConnectionOptions(url: string, ca?: string): PgConnectionOptions {
  const target = parseDatabaseUrl(url);
  const { host, port, password, database } = target;
  // libpq's default user: the operating system's.
  const user = target.user ?? userInfo().username;
  return { host, port, user, password, database, ssl: tlsOptions(target, ca) };
}

function tlsOptions(target: DatabaseTarget, ca: string | undefined): false | ConnectionOptions {
  switch (target.sslMode) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // The chain is checked; the name in the certificate is not (libpq's verify-ca).
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        ...(ca ? { ca } : {}),
        host: target.host,
        ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      };
  }
}

/** The database cannot be used as configured (TLS refused, certificate not trusted); one line. */
export class DatabaseConnectionError extends StartupError {}

/** The URL without its password, for messages. */
export function describeTarget(url: string): string {
  try {
    const t = parseDatabaseUrl(url);
    return `${t.host}:${t.port}/${t.database} (sslmode=${t.sslMode})`;
  } catch {
    return 'DATABASE_URL';
  }
}

const CERTIFICATE_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * One line for a connection failure the operator must fix in DATABASE_URL / DATABASE_SSL_CA (TLS refused,
 * certificate not trusted or not naming the host); undefined for anything else.
 */
export function explainConnectionError(error: unknown, url: string): string | undefined {
  const e = error as { message?: string; code?: string } | undefined;
  const where = describeTarget(url);
  if (e?.message === 'The server does not support SSL connections') {
    return `DATABASE_URL: the server at ${where} does not accept TLS connections; the service does not fall back to plain text (use sslmode=disable only if plain text is acceptable)`;
  }
  if (e?.code && CERTIFICATE_ERRORS.has(e.code)) {
    return `DATABASE_URL: the server's certificate at ${where} was refused (${e.code}: ${e.message}); check DATABASE_SSL_CA and the host name`;
  }
  return undefined;
}
