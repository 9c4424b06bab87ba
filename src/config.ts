// Reads and validates the environment once; everything else receives a typed Config.
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseUrlError, parseDatabaseUrl, type SslMode } from './infra/database-url';
import { type ConsoleConfig, readConsoleConfig } from './console-config';

export const DEV_APP_TOKEN_SECRET = 'dev-app-token-secret-change-me-0123456789';
export const DEV_USER_TOKEN_SECRET = 'dev-user-token-secret-change-me-0123456789';
export const DEV_OTP_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export type TokenKeyConfig =
  | { kind: 'secret'; secret: string; isDevelopment: boolean }
  | { kind: 'jwks'; url: string }
  | { kind: 'pem'; pem: string };

export interface Config {
  env: string;
  production: boolean;
  port: number;
  host: string;
  /** Unset means: start an embedded PostgreSQL under dataDir. */
  databaseUrl?: string;
  /** PEM text of DATABASE_SSL_CA (sslmode=verify-ca / verify-full only). */
  databaseSslCa?: string;
  /** Unset means: start a local Azurite under dataDir. */
  storageConnectionString?: string;
  /** Azure AD instead of a key: the account's blob endpoint (https://ACCOUNT.blob.core.windows.net). */
  storageAccountUrl?: string;
  evidenceContainer: string;
  dataDir: string;
  appToken: TokenKeyConfig;
  userToken: TokenKeyConfig;
  tokenIssuer?: string;
  tokenAudience?: string;
  otpEncryptionKey: Buffer;
  otpEncryptionKeyIsDevelopment: boolean;
  sasTtlSeconds: number;
  logLevel: string;
  /** GraphQL introspection; defaults to on outside production. */
  introspection: boolean;
  /** The GraphiQL page on GET /graphql (Accept: text/html); defaults to on outside production. */
  graphqlExplorer: boolean;
  /** The API docs page on GET /docs (GET /openapi.json is always served). */
  apiDocs: boolean;
  /** Seconds a request's headers and body may take to arrive before it is answered 408. */
  requestTimeoutSeconds: number;
  /** Seconds between SSE `: ping` comments. */
  sseHeartbeatSeconds: number;
  /** Most open progress streams (SSE + subscriptions) one process serves. */
  maxProgressStreams: number;
  /** Most of those one operator may hold at once, within the process's cap. */
  maxProgressStreamsPerOperator: number;
  /** Most subscriptions (active or being checked) one graphql-ws connection carries. */
  maxSubscriptionsPerSocket: number;
  /** Seconds a stream's client may leave sent data unread before the connection is closed. */
  progressStallSeconds: number;
  /** Seconds between re-checks of the operators holding streams (besides operator-change notifications). */
  operatorRecheckSeconds: number;
  /** Size of the database connection pool. */
  dbPoolSize: number;
  /** Most GraphQL operations over HTTP one operator may have running in this process at once. */
  maxGraphQLOperationsPerOperator: number;
  /** Seconds between this process's sweeps that expire PENDING requests past their deadline. */
  expirySweepSeconds: number;
  /** The user token claim naming the operator (its `subject`). */
  userTokenSubjectClaim: string;
  /**
   * Port of the Prometheus listener (GET /metrics), never the public one. null: no listener
   * (METRICS_PORT=0). Code that builds a Config may set 0 for any free port (tests, the benchmark).
   */
  metricsPort: number | null;
  metricsHost: string;
  /** Port of the embedded PostgreSQL started when DATABASE_URL is unset; 0: any free port. */
  embeddedPostgresPort: number;
  /** Port of the local Azurite started when no storage is configured; 0: any free port. */
  azuritePort: number;
  /** Seconds between two looks for upload intents of processes that are gone (their blobs are deleted). */
  evidenceReconcileSeconds: number;
  /** Seconds between two sweeps of the evidence container for blobs with no request (one process at a time). */
  evidenceSweepSeconds: number;
  /** How old a blob with no request and no upload intent must be before the sweep deletes it. */
  evidenceOrphanAgeSeconds: number;
  /** Origins (scheme://host[:port]) allowed to call /graphql and the REST facade from a browser. */
  corsOrigins: string[];
  /** The checker console (SPEC section 17). */
  console: ConsoleConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Builds a Config from an environment map; throws ConfigError listing every problem, one per line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}: must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };

  const nodeEnv = get('NODE_ENV') ?? 'development';
  const production = nodeEnv === 'production';

  const databaseUrl = get('DATABASE_URL');
  let sslMode: SslMode | undefined;
  if (databaseUrl !== undefined) {
    try {
      sslMode = parseDatabaseUrl(databaseUrl).sslMode;
    } catch (e) {
      if (!(e instanceof DatabaseUrlError)) throw e;
      problems.push(`DATABASE_URL: ${e.message}`);
    }
  }
  const databaseSslCaFile = get('DATABASE_SSL_CA');
  let databaseSslCa: string | undefined;
  if (databaseSslCaFile !== undefined) {
    if (sslMode !== undefined && sslMode !== 'verify-ca' && sslMode !== 'verify-full') {
      problems.push(
        `DATABASE_SSL_CA: only used with sslmode=verify-ca or verify-full in DATABASE_URL (it has sslmode=${sslMode})`,
      );
    } else if (databaseUrl === undefined) {
      problems.push('DATABASE_SSL_CA: only used with a DATABASE_URL (sslmode=verify-ca or verify-full)');
    }
    try {
      databaseSslCa = readFileSync(databaseSslCaFile, 'utf8');
      if (!databaseSslCa.includes('-----BEGIN CERTIFICATE-----'))
        problems.push(`DATABASE_SSL_CA: ${databaseSslCaFile} holds no PEM certificate`);
    } catch (e) {
      problems.push(
        `DATABASE_SSL_CA: cannot read ${databaseSslCaFile} (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  const storageConnectionString = get('AZURE_STORAGE_CONNECTION_STRING');
  const storageAccountUrl = get('AZURE_STORAGE_ACCOUNT_URL');
  if (storageAccountUrl !== undefined) {
    const problem = accountUrlProblem(storageAccountUrl);
    if (problem) problems.push(`AZURE_STORAGE_ACCOUNT_URL: ${problem}`);
    if (storageConnectionString !== undefined)
      problems.push(
        'AZURE_STORAGE_ACCOUNT_URL: set only one of AZURE_STORAGE_CONNECTION_STRING (account key) and AZURE_STORAGE_ACCOUNT_URL (Azure AD)',
      );
  }
  if (storageConnectionString !== undefined && !/AccountKey=/i.test(storageConnectionString)) {
    problems.push(
      'AZURE_STORAGE_CONNECTION_STRING: must hold an AccountKey (download URLs are signed with it)',
    );
  }
  const evidenceContainer = get('EVIDENCE_CONTAINER') ?? 'evidence';
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(evidenceContainer)) {
    problems.push(
      'EVIDENCE_CONTAINER: must be a valid container name (3-63 lowercase letters, digits, hyphens)',
    );
  }

  const tokenKey = (kind: 'APP' | 'USER', devSecret: string): TokenKeyConfig => {
    const secret = get(`${kind}_TOKEN_SECRET`);
    const jwks = get(`${kind}_TOKEN_JWKS_URL`);
    const pem = get(`${kind}_TOKEN_PUBLIC_KEY`);
    const given = [secret, jwks, pem].filter((v) => v !== undefined).length;
    if (given > 1) {
      problems.push(
        `${kind}_TOKEN_SECRET: set only one of ${kind}_TOKEN_SECRET, ${kind}_TOKEN_JWKS_URL, ${kind}_TOKEN_PUBLIC_KEY`,
      );
    }
    if (jwks !== undefined) {
      if (!/^https?:\/\//.test(jwks)) problems.push(`${kind}_TOKEN_JWKS_URL: must be an http(s) URL`);
      return { kind: 'jwks', url: jwks };
    }
    if (pem !== undefined) {
      if (!pem.includes('BEGIN PUBLIC KEY'))
        problems.push(`${kind}_TOKEN_PUBLIC_KEY: must be a PEM public key (SPKI)`);
      return { kind: 'pem', pem: pem.replace(/\\n/g, '\n') };
    }
    if (secret !== undefined) {
      if (Buffer.byteLength(secret) < 32) problems.push(`${kind}_TOKEN_SECRET: must be at least 32 bytes`);
      return { kind: 'secret', secret, isDevelopment: secret === devSecret };
    }
    return { kind: 'secret', secret: devSecret, isDevelopment: true };
  };
  const appToken = tokenKey('APP', DEV_APP_TOKEN_SECRET);
  const userToken = tokenKey('USER', DEV_USER_TOKEN_SECRET);
  if (appToken.kind === 'secret' && userToken.kind === 'secret' && appToken.secret === userToken.secret) {
    problems.push(
      'USER_TOKEN_SECRET: must differ from APP_TOKEN_SECRET (a user token would pass as the application token)',
    );
  }

  const otpKeyRaw = get('OTP_ENCRYPTION_KEY');
  let otpEncryptionKey = Buffer.from(DEV_OTP_ENCRYPTION_KEY, 'base64');
  if (otpKeyRaw !== undefined) {
    const decoded = Buffer.from(otpKeyRaw, 'base64');
    if (decoded.length !== 32 || decoded.toString('base64') !== otpKeyRaw) {
      problems.push('OTP_ENCRYPTION_KEY: must be exactly 32 bytes, base64-encoded');
    } else {
      otpEncryptionKey = decoded;
    }
  }
  const otpEncryptionKeyIsDevelopment = otpEncryptionKey.equals(
    Buffer.from(DEV_OTP_ENCRYPTION_KEY, 'base64'),
  );

  const logLevel = get('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);

  const host = get('HOST') ?? '127.0.0.1';
  const userTokenSubjectClaim = get('USER_TOKEN_SUBJECT_CLAIM') ?? 'sub';
  if (!/^[A-Za-z_][A-Za-z0-9_.:/-]{0,99}$/.test(userTokenSubjectClaim)) {
    problems.push('USER_TOKEN_SUBJECT_CLAIM: must be a claim name such as sub, oid or email');
  }
  const port = int('PORT', 3000, 0, 65535);
  const metricsPort = int('METRICS_PORT', 9464, 0, 65535);
  if (metricsPort !== 0 && metricsPort === port) {
    problems.push(
      `METRICS_PORT: must differ from PORT (${port}); metrics are never served on the public port`,
    );
  }
  const metricsHost = get('METRICS_HOST') ?? '127.0.0.1';
  if (isIP(metricsHost) === 0 && !HOST_NAME.test(metricsHost)) {
    problems.push(`METRICS_HOST: must be an IP address or a host name, got "${metricsHost}"`);
  }
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false') problems.push(`${name}: must be true or false`);
    return raw === 'true';
  };
  const introspection = flag('GRAPHQL_INTROSPECTION', !production);
  const graphqlExplorer = flag('GRAPHQL_EXPLORER', !production);
  const apiDocs = flag('API_DOCS', !production);

  const corsOrigins: string[] = [];
  for (const raw of (get('CORS_ORIGINS') ?? '').split(',').map((v) => v.trim())) {
    if (raw === '') continue;
    const origin = parseOrigin(raw);
    if (typeof origin === 'string') corsOrigins.push(origin);
    else problems.push(`CORS_ORIGINS: "${raw}" ${origin.problem}`);
  }

  if (production) {
    if (databaseUrl === undefined)
      problems.push('DATABASE_URL: required in production (no embedded PostgreSQL)');
    if (storageConnectionString === undefined && storageAccountUrl === undefined) {
      problems.push(
        'AZURE_STORAGE_CONNECTION_STRING: required in production (no local Azurite), or AZURE_STORAGE_ACCOUNT_URL for Azure AD credentials',
      );
    } else if (
      storageConnectionString !== undefined &&
      /devstoreaccount1|UseDevelopmentStorage/i.test(storageConnectionString)
    ) {
      problems.push(
        'AZURE_STORAGE_CONNECTION_STRING: the development storage account is refused in production',
      );
    } else if (storageAccountUrl !== undefined && /devstoreaccount1/i.test(storageAccountUrl)) {
      problems.push('AZURE_STORAGE_ACCOUNT_URL: the development storage account is refused in production');
    }
    if (appToken.kind === 'secret' && appToken.isDevelopment) {
      problems.push(
        'APP_TOKEN_SECRET: the development secret is refused in production; set a secret, JWKS URL or public key',
      );
    }
    if (userToken.kind === 'secret' && userToken.isDevelopment) {
      problems.push(
        'USER_TOKEN_SECRET: the development secret is refused in production; set a secret, JWKS URL or public key',
      );
    }
    if (otpEncryptionKeyIsDevelopment)
      problems.push('OTP_ENCRYPTION_KEY: the development key is refused in production');
  }

  const config: Config = {
    env: nodeEnv,
    production,
    port,
    host,
    databaseUrl,
    databaseSslCa,
    storageConnectionString,
    storageAccountUrl,
    evidenceContainer,
    dataDir: path.resolve(get('DATA_DIR') ?? './.data'),
    appToken,
    userToken,
    tokenIssuer: get('TOKEN_ISSUER'),
    tokenAudience: get('TOKEN_AUDIENCE'),
    otpEncryptionKey,
    otpEncryptionKeyIsDevelopment,
    // A user delegation key lives at most 7 days and must outlive every link it signs.
    sasTtlSeconds: int(
      'SAS_TTL_SECONDS',
      300,
      10,
      storageAccountUrl === undefined ? 7 * 24 * 3600 : 6 * 24 * 3600,
    ),
    logLevel,
    introspection,
    graphqlExplorer,
    apiDocs,
    requestTimeoutSeconds: int('REQUEST_TIMEOUT_SECONDS', 300, 1, 3600),
    sseHeartbeatSeconds: int('SSE_HEARTBEAT_SECONDS', 15, 1, 3600),
    maxProgressStreams: int('MAX_PROGRESS_STREAMS', 1000, 1, 100000),
    maxProgressStreamsPerOperator: int('MAX_PROGRESS_STREAMS_PER_OPERATOR', 50, 1, 100000),
    maxSubscriptionsPerSocket: int('MAX_SUBSCRIPTIONS_PER_SOCKET', 20, 1, 1000),
    progressStallSeconds: int('PROGRESS_STALL_SECONDS', 30, 1, 3600),
    operatorRecheckSeconds: int('OPERATOR_RECHECK_SECONDS', 30, 1, 3600),
    dbPoolSize: int('DB_POOL_SIZE', 10, 2, 200),
    maxGraphQLOperationsPerOperator: int('MAX_GRAPHQL_OPERATIONS_PER_OPERATOR', 4, 1, 1000),
    expirySweepSeconds: int('EXPIRY_SWEEP_SECONDS', 30, 1, 3600),
    userTokenSubjectClaim,
    metricsPort: metricsPort === 0 ? null : metricsPort,
    metricsHost,
    embeddedPostgresPort: int('EMBEDDED_POSTGRES_PORT', 54329, 0, 65535),
    azuritePort: int('AZURITE_PORT', 10000, 0, 65535),
    evidenceReconcileSeconds: int('EVIDENCE_RECONCILE_SECONDS', 30, 1, 3600),
    evidenceSweepSeconds: int('EVIDENCE_SWEEP_SECONDS', 3600, 1, 7 * 24 * 3600),
    evidenceOrphanAgeSeconds: int('EVIDENCE_ORPHAN_AGE_SECONDS', 600, 0, 7 * 24 * 3600),
    corsOrigins,
    console: readConsoleConfig(get, production, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** An origin exactly as a browser sends it (scheme://host[:port], no path), or why the value is not one. */
function parseOrigin(value: string): string | { problem: string } {
  if (value === '*' || value === 'null') return { problem: 'is not allowed: list each origin' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: 'is not an origin (scheme://host[:port])' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { problem: 'must be http:// or https://' };
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== ''))
    return { problem: `is not an origin: write it as ${url.origin}` };
  if (value !== url.origin) return { problem: `must be written as ${url.origin}` };
  return url.origin;
}

/** Why an AZURE_STORAGE_ACCOUNT_URL cannot be used, or undefined. */
function accountUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be the account's blob endpoint, e.g. https://ACCOUNT.blob.core.windows.net";
  }
  if (url.protocol !== 'https:') return 'must be an https:// URL (Azure AD tokens travel only over TLS)';
  if (url.search || url.hash || url.username || url.password)
    return 'must hold no SAS token, query or credentials (the identity comes from Azure AD)';
  return undefined;
}
