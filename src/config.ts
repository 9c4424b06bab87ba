// The configuration: one zod schema over the environment. Each variable is declared once in ENVIRONMENT,
// with its default, how it is read and the line that names it when it is wrong; RULES hold what ties
// several variables together (and what production refuses); toConfig turns the parsed variables into the
// typed Config everything else receives. Adding a variable: declare it in ENVIRONMENT, give Config its
// field and set it in toConfig, list it in .env.example and docs/configuration.md (tests check both).
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DatabaseUrlError, parseDatabaseUrl } from './infra/database-url';
import { type ConsoleConfig, DEV_CONSOLE_SESSION_SECRET } from './console-config';

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
  /** SPEC section 18: a policy change through the API waits for a second ADMIN (default true). */
  policyChangesNeedApproval: boolean;
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
  /** The longest a statement of the service waits for a lock (PostgreSQL lock_timeout); past it, 503. */
  databaseLockTimeoutMs: number;
  /** The longest a statement of the service runs (PostgreSQL statement_timeout); past it, 503. */
  databaseStatementTimeoutMs: number;
  /** Most GraphQL operations over HTTP one operator may have running in this process at once. */
  maxGraphQLOperationsPerOperator: number;
  /** Seconds between this process's sweeps that expire PENDING requests past their deadline. */
  expirySweepSeconds: number;
  /** The user token claim naming the operator (its `subject`). */
  userTokenSubjectClaim: string;
  /**
   * Longest a token may live: one whose `exp` lies further than this from now, or from its `iat`, is
   * refused; and a subject given up by one operator is not given to another for this long.
   */
  maxTokenLifetimeSeconds: number;
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
  /** Partner webhooks (SPEC section 16). */
  webhooks: WebhookConfig;
  /** The checker console (SPEC section 17). */
  console: ConsoleConfig;
}

export interface WebhookConfig {
  /** Seconds a rotated-out secret keeps signing beside the new one. */
  secretOverlapSeconds: number;
  /** Seconds to wait before each retry (±20 % jitter); after the last, the delivery is FAILED. */
  retrySchedule: number[];
  /** A 2xx must arrive (headers and the read part of the body) within this many seconds. */
  timeoutSeconds: number;
  /** Most messages in flight to one endpoint, across every process. */
  concurrency: number;
  /** An endpoint whose every attempt failed for this long is disabled. */
  disableAfterSeconds: number;
  /** Loopback and private-range endpoints allowed (and http); false: https to public addresses only. */
  allowPrivateNetworks: boolean;
}

/** SPEC section 16: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DAY = 24 * 3600;
/** A user delegation key lives at most 7 days and must outlive every link it signs. */
const MAX_SAS_TTL_WITH_AZURE_AD = 6 * DAY;

// The kinds of value a variable holds. Every value arrives trimmed; a blank one counts as unset.

/** A whole number from min to max, in decimal digits. */
const integer = (min: number, max: number) =>
  z
    .string()
    .refine((v) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max, {
      error: (issue) => `must be an integer from ${min} to ${max}, got "${String(issue.input)}"`,
    })
    .transform(Number);

/** true or false; unset stays undefined where the default depends on NODE_ENV. */
const flag = () =>
  z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

/** One way of checking a token's signature (each kind of token takes exactly one of the three). */
const tokenSecret = () => z.string().refine((v) => Buffer.byteLength(v) >= 32, 'must be at least 32 bytes');
const tokenJwksUrl = () => z.string().refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL');
const tokenPublicKey = () =>
  z
    .string()
    .refine((v) => v.includes('BEGIN PUBLIC KEY'), 'must be a PEM public key (SPKI)')
    .transform((v) => v.replace(/\\n/g, '\n'));

const problem = (ctx: z.RefinementCtx, message: string) => ctx.addIssue({ code: 'custom', message });

/** Every variable the service reads, once: its default, how it is read, and why a value is refused. */
const ENVIRONMENT = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  REQUEST_TIMEOUT_SECONDS: integer(1, 3600).default(300),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((list, ctx) => {
      const origins: string[] = [];
      for (const raw of list.split(',').map((v) => v.trim())) {
        if (raw === '') continue;
        const origin = parseOrigin(raw);
        if (typeof origin === 'string') origins.push(origin);
        else problem(ctx, `"${raw}" ${origin.problem}`);
      }
      return origins;
    }),
  API_DOCS: flag().optional(),
  POLICY_CHANGES_NEED_APPROVAL: flag().optional(),

  DATABASE_URL: z
    .string()
    .transform((url, ctx) => {
      try {
        return { url, sslMode: parseDatabaseUrl(url).sslMode };
      } catch (e) {
        if (!(e instanceof DatabaseUrlError)) throw e;
        problem(ctx, e.message);
        return z.NEVER;
      }
    })
    .optional(),
  DATABASE_SSL_CA: z
    .string()
    .transform((file, ctx) => {
      try {
        const pem = readFileSync(file, 'utf8');
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) problem(ctx, `${file} holds no PEM certificate`);
        return pem;
      } catch (e) {
        problem(ctx, `cannot read ${file} (${(e as NodeJS.ErrnoException).code})`);
        return z.NEVER;
      }
    })
    .optional(),
  DB_POOL_SIZE: integer(2, 200).default(10),
  DATABASE_LOCK_TIMEOUT_MS: integer(1, 3_600_000).default(5000),
  DATABASE_STATEMENT_TIMEOUT_MS: integer(1, 3_600_000).default(30000),

  AZURE_STORAGE_CONNECTION_STRING: z
    .string()
    .refine((v) => /AccountKey=/i.test(v), 'must hold an AccountKey (download URLs are signed with it)')
    .optional(),
  AZURE_STORAGE_ACCOUNT_URL: z
    .string()
    .superRefine((v, ctx) => {
      const why = accountUrlProblem(v);
      if (why) problem(ctx, why);
    })
    .optional(),
  EVIDENCE_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, {
      error: 'must be a valid container name (3-63 lowercase letters, digits, hyphens)',
    })
    .default('evidence'),
  // At most 6 days with AZURE_STORAGE_ACCOUNT_URL (RULES).
  SAS_TTL_SECONDS: integer(10, 7 * DAY).default(300),
  DATA_DIR: z
    .string()
    .default('./.data')
    .transform((dir) => path.resolve(dir)),
  // The embedded dependencies of a development start (0: any free port).
  EMBEDDED_POSTGRES_PORT: integer(0, 65535).default(54329),
  AZURITE_PORT: integer(0, 65535).default(10000),

  APP_TOKEN_SECRET: tokenSecret().optional(),
  APP_TOKEN_JWKS_URL: tokenJwksUrl().optional(),
  APP_TOKEN_PUBLIC_KEY: tokenPublicKey().optional(),
  USER_TOKEN_SECRET: tokenSecret().optional(),
  USER_TOKEN_JWKS_URL: tokenJwksUrl().optional(),
  USER_TOKEN_PUBLIC_KEY: tokenPublicKey().optional(),
  TOKEN_ISSUER: z.string().optional(),
  TOKEN_AUDIENCE: z.string().optional(),
  USER_TOKEN_SUBJECT_CLAIM: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.:/-]{0,99}$/, {
      error: 'must be a claim name such as sub, oid or email',
    })
    .default('sub'),
  MAX_TOKEN_LIFETIME_SECONDS: integer(60, 366 * 24 * 3600).default(86400),

  OTP_ENCRYPTION_KEY: z
    .string()
    .refine((v) => {
      const decoded = Buffer.from(v, 'base64');
      return decoded.length === 32 && decoded.toString('base64') === v;
    }, 'must be exactly 32 bytes, base64-encoded')
    .transform((v) => Buffer.from(v, 'base64'))
    .default(() => Buffer.from(DEV_OTP_ENCRYPTION_KEY, 'base64')),

  GRAPHQL_INTROSPECTION: flag().optional(),
  GRAPHQL_EXPLORER: flag().optional(),
  MAX_GRAPHQL_OPERATIONS_PER_OPERATOR: integer(1, 1000).default(4),

  SSE_HEARTBEAT_SECONDS: integer(1, 3600).default(15),
  MAX_PROGRESS_STREAMS: integer(1, 100000).default(1000),
  MAX_PROGRESS_STREAMS_PER_OPERATOR: integer(1, 100000).default(50),
  MAX_SUBSCRIPTIONS_PER_SOCKET: integer(1, 1000).default(20),
  PROGRESS_STALL_SECONDS: integer(1, 3600).default(30),
  OPERATOR_RECHECK_SECONDS: integer(1, 3600).default(30),

  EXPIRY_SWEEP_SECONDS: integer(1, 3600).default(30),

  WEBHOOK_SECRET_OVERLAP_SECONDS: integer(0, 30 * DAY).default(86400),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .refine(
      (v) => {
        const parts = v.split(',').map((p) => p.trim());
        return (
          parts.length <= 20 &&
          parts.every((p) => /^\d{1,6}$/.test(p) && Number(p) >= 1 && Number(p) <= 7 * DAY)
        );
      },
      {
        error: (issue) =>
          `must be a comma list of at most 20 delays in seconds (1 to 604800 each), got "${String(issue.input)}"`,
      },
    )
    .transform((v) => v.split(',').map((p) => Number(p.trim())))
    .optional(),
  WEBHOOK_TIMEOUT_SECONDS: integer(1, 300).default(10),
  WEBHOOK_CONCURRENCY: integer(1, 100).default(4),
  WEBHOOK_DISABLE_AFTER_SECONDS: integer(1, 365 * DAY).default(5 * DAY),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag().optional(),
  EVIDENCE_RECONCILE_SECONDS: integer(1, 3600).default(30),
  EVIDENCE_SWEEP_SECONDS: integer(1, 7 * DAY).default(3600),
  EVIDENCE_ORPHAN_AGE_SECONDS: integer(0, 7 * DAY).default(600),

  // 0: no metrics listener.
  METRICS_PORT: integer(0, 65535).default(9464),
  METRICS_HOST: z
    .string()
    .refine((v) => isIP(v) !== 0 || HOST_NAME.test(v), {
      error: (issue) => `must be an IP address or a host name, got "${String(issue.input)}"`,
    })
    .default('127.0.0.1'),

  // The checker console: on outside production unless CONSOLE=false; in production only with CONSOLE=true.
  CONSOLE: flag().optional(),
  CONSOLE_SESSION_SECRET: tokenSecret().optional(),
  CONSOLE_OIDC_ISSUER: z
    .string()
    .regex(/^https?:\/\/[^\s?#]+$/, { error: 'must be the issuer URL (http(s)://…, no query)' })
    .optional(),
  CONSOLE_OIDC_CLIENT_ID: z.string().optional(),

  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

type Variables = z.output<typeof ENVIRONMENT>;
type Name = keyof Variables;
const NAMES = Object.keys(ENVIRONMENT.shape) as Name[];

/**
 * What ties several variables together. A rule names the variable its line is about and the others it
 * reads; it is not judged while one of those already has a problem of its own (that value is a default).
 */
interface Rule {
  about: Name;
  uses: Name[];
  problem(v: Variables): string | false | undefined;
}

/** The three variables of one kind of token: a secret, a JWKS URL or a public key, exactly one of them. */
const APP_TOKEN = ['APP_TOKEN_SECRET', 'APP_TOKEN_JWKS_URL', 'APP_TOKEN_PUBLIC_KEY'] as const;
const USER_TOKEN = ['USER_TOKEN_SECRET', 'USER_TOKEN_JWKS_URL', 'USER_TOKEN_PUBLIC_KEY'] as const;
type TokenKind = typeof APP_TOKEN | typeof USER_TOKEN;
const TOKEN_KINDS: TokenKind[] = [APP_TOKEN, USER_TOKEN];

const production = (v: Variables) => v.NODE_ENV === 'production';
const DEVELOPMENT_STORAGE = /devstoreaccount1|UseDevelopmentStorage/i;

const RULES: Rule[] = [
  {
    about: 'DATABASE_SSL_CA',
    uses: ['DATABASE_URL'],
    problem: (v) =>
      v.DATABASE_SSL_CA !== undefined &&
      (v.DATABASE_URL === undefined
        ? 'only used with a DATABASE_URL (sslmode=verify-ca or verify-full)'
        : v.DATABASE_URL.sslMode !== 'verify-ca' &&
          v.DATABASE_URL.sslMode !== 'verify-full' &&
          `only used with sslmode=verify-ca or verify-full in DATABASE_URL (it has sslmode=${v.DATABASE_URL.sslMode})`),
  },
  {
    about: 'AZURE_STORAGE_ACCOUNT_URL',
    uses: ['AZURE_STORAGE_CONNECTION_STRING'],
    problem: (v) =>
      v.AZURE_STORAGE_ACCOUNT_URL !== undefined &&
      v.AZURE_STORAGE_CONNECTION_STRING !== undefined &&
      'set only one of AZURE_STORAGE_CONNECTION_STRING (account key) and AZURE_STORAGE_ACCOUNT_URL (Azure AD)',
  },
  {
    about: 'SAS_TTL_SECONDS',
    uses: ['AZURE_STORAGE_ACCOUNT_URL'],
    problem: (v) =>
      v.AZURE_STORAGE_ACCOUNT_URL !== undefined &&
      v.SAS_TTL_SECONDS > MAX_SAS_TTL_WITH_AZURE_AD &&
      `must be an integer from 10 to ${MAX_SAS_TTL_WITH_AZURE_AD}, got "${v.SAS_TTL_SECONDS}"`,
  },
  ...TOKEN_KINDS.map(([secret, jwks, pem]): Rule => ({
    about: secret,
    uses: [jwks, pem],
    problem: (v) =>
      [v[secret], v[jwks], v[pem]].filter((value) => value !== undefined).length > 1 &&
      `set only one of ${secret}, ${jwks}, ${pem}`,
  })),
  {
    about: 'USER_TOKEN_SECRET',
    uses: [...APP_TOKEN, USER_TOKEN[1], USER_TOKEN[2]],
    problem: (v) => {
      const app = tokenKey(v, APP_TOKEN);
      const user = tokenKey(v, USER_TOKEN);
      return (
        app.kind === 'secret' &&
        user.kind === 'secret' &&
        app.secret === user.secret &&
        'must differ from APP_TOKEN_SECRET (a user token would pass as the application token)'
      );
    },
  },
  {
    about: 'METRICS_PORT',
    uses: ['PORT'],
    problem: (v) =>
      v.METRICS_PORT !== 0 &&
      v.METRICS_PORT === v.PORT &&
      `must differ from PORT (${v.PORT}); metrics are never served on the public port`,
  },

  // What production refuses: embedded dependencies and the development secrets.
  {
    about: 'DATABASE_URL',
    uses: ['NODE_ENV'],
    problem: (v) =>
      production(v) && v.DATABASE_URL === undefined && 'required in production (no embedded PostgreSQL)',
  },
  {
    about: 'AZURE_STORAGE_CONNECTION_STRING',
    uses: ['NODE_ENV', 'AZURE_STORAGE_ACCOUNT_URL'],
    problem: (v) =>
      production(v) &&
      (v.AZURE_STORAGE_CONNECTION_STRING === undefined
        ? v.AZURE_STORAGE_ACCOUNT_URL === undefined &&
          'required in production (no local Azurite), or AZURE_STORAGE_ACCOUNT_URL for Azure AD credentials'
        : DEVELOPMENT_STORAGE.test(v.AZURE_STORAGE_CONNECTION_STRING) &&
          'the development storage account is refused in production'),
  },
  {
    about: 'AZURE_STORAGE_ACCOUNT_URL',
    uses: ['NODE_ENV'],
    problem: (v) =>
      production(v) &&
      v.AZURE_STORAGE_ACCOUNT_URL !== undefined &&
      /devstoreaccount1/i.test(v.AZURE_STORAGE_ACCOUNT_URL) &&
      'the development storage account is refused in production',
  },
  ...TOKEN_KINDS.map((kind): Rule => ({
    about: kind[0],
    uses: ['NODE_ENV', kind[1], kind[2]],
    problem: (v) => {
      const key = tokenKey(v, kind);
      return (
        production(v) &&
        key.kind === 'secret' &&
        key.isDevelopment &&
        'the development secret is refused in production; set a secret, JWKS URL or public key'
      );
    },
  })),
  {
    about: 'CONSOLE_SESSION_SECRET',
    uses: ['NODE_ENV', 'CONSOLE'],
    problem: (v) =>
      production(v) &&
      consoleEnabled(v) &&
      consoleSecret(v) === DEV_CONSOLE_SESSION_SECRET &&
      'the development secret is refused in production; set a secret',
  },
  {
    about: 'CONSOLE_OIDC_CLIENT_ID',
    uses: ['CONSOLE_OIDC_ISSUER'],
    problem: (v) =>
      (v.CONSOLE_OIDC_ISSUER === undefined) !== (v.CONSOLE_OIDC_CLIENT_ID === undefined) &&
      'set both CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID, or neither',
  },
  {
    about: 'OTP_ENCRYPTION_KEY',
    uses: ['NODE_ENV'],
    problem: (v) => production(v) && isDevelopmentOtpKey(v) && 'the development key is refused in production',
  },
];

/** Builds a Config from an environment map; throws ConfigError listing every problem, one per line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Exactly the declared names are read.
  const given = Object.fromEntries(
    NAMES.map((name) => {
      const value = env[name]?.trim();
      return [name, value === '' ? undefined : value];
    }),
  );
  const parsed = ENVIRONMENT.safeParse(given);
  const issues = parsed.error?.issues ?? [];
  // A variable with a problem counts as unset while the rules are judged, so every problem is reported at once.
  const wrong = new Set(issues.map((issue) => issue.path[0] as Name));
  const variables = parsed.success
    ? parsed.data
    : ENVIRONMENT.parse({ ...given, ...Object.fromEntries([...wrong].map((name) => [name, undefined])) });
  const problems = [
    ...issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`),
    ...ruleProblems(variables, wrong),
  ];
  if (problems.length > 0) throw new ConfigError(problems);
  return toConfig(variables);
}

function ruleProblems(v: Variables, wrong: Set<Name>): string[] {
  return RULES.filter((rule) => ![rule.about, ...rule.uses].some((name) => wrong.has(name))).flatMap(
    (rule) => {
      const found = rule.problem(v);
      return found ? [`${rule.about}: ${found}`] : [];
    },
  );
}

/** The token key of one kind: a JWKS URL, else a public key, else a secret (the development one when unset). */
function tokenKey(v: Variables, [secretName, jwksName, pemName]: TokenKind): TokenKeyConfig {
  const jwks = v[jwksName];
  const pem = v[pemName];
  const devSecret = secretName === 'APP_TOKEN_SECRET' ? DEV_APP_TOKEN_SECRET : DEV_USER_TOKEN_SECRET;
  const secret = v[secretName] ?? devSecret;
  if (jwks !== undefined) return { kind: 'jwks', url: jwks };
  if (pem !== undefined) return { kind: 'pem', pem };
  return { kind: 'secret', secret, isDevelopment: secret === devSecret };
}

const consoleEnabled = (v: Variables) => v.CONSOLE ?? !production(v);
const consoleSecret = (v: Variables) => v.CONSOLE_SESSION_SECRET ?? DEV_CONSOLE_SESSION_SECRET;

const isDevelopmentOtpKey = (v: Variables) =>
  v.OTP_ENCRYPTION_KEY.equals(Buffer.from(DEV_OTP_ENCRYPTION_KEY, 'base64'));

function toConfig(v: Variables): Config {
  const isProduction = production(v);
  return {
    env: v.NODE_ENV,
    production: isProduction,
    port: v.PORT,
    host: v.HOST,
    databaseUrl: v.DATABASE_URL?.url,
    databaseSslCa: v.DATABASE_SSL_CA,
    storageConnectionString: v.AZURE_STORAGE_CONNECTION_STRING,
    storageAccountUrl: v.AZURE_STORAGE_ACCOUNT_URL,
    evidenceContainer: v.EVIDENCE_CONTAINER,
    dataDir: v.DATA_DIR,
    appToken: tokenKey(v, APP_TOKEN),
    userToken: tokenKey(v, USER_TOKEN),
    tokenIssuer: v.TOKEN_ISSUER,
    tokenAudience: v.TOKEN_AUDIENCE,
    otpEncryptionKey: v.OTP_ENCRYPTION_KEY,
    otpEncryptionKeyIsDevelopment: isDevelopmentOtpKey(v),
    sasTtlSeconds: v.SAS_TTL_SECONDS,
    logLevel: v.LOG_LEVEL,
    introspection: v.GRAPHQL_INTROSPECTION ?? !isProduction,
    graphqlExplorer: v.GRAPHQL_EXPLORER ?? !isProduction,
    apiDocs: v.API_DOCS ?? !isProduction,
    policyChangesNeedApproval: v.POLICY_CHANGES_NEED_APPROVAL ?? true,
    requestTimeoutSeconds: v.REQUEST_TIMEOUT_SECONDS,
    sseHeartbeatSeconds: v.SSE_HEARTBEAT_SECONDS,
    maxProgressStreams: v.MAX_PROGRESS_STREAMS,
    maxProgressStreamsPerOperator: v.MAX_PROGRESS_STREAMS_PER_OPERATOR,
    maxSubscriptionsPerSocket: v.MAX_SUBSCRIPTIONS_PER_SOCKET,
    progressStallSeconds: v.PROGRESS_STALL_SECONDS,
    operatorRecheckSeconds: v.OPERATOR_RECHECK_SECONDS,
    dbPoolSize: v.DB_POOL_SIZE,
    databaseLockTimeoutMs: v.DATABASE_LOCK_TIMEOUT_MS,
    databaseStatementTimeoutMs: v.DATABASE_STATEMENT_TIMEOUT_MS,
    maxGraphQLOperationsPerOperator: v.MAX_GRAPHQL_OPERATIONS_PER_OPERATOR,
    expirySweepSeconds: v.EXPIRY_SWEEP_SECONDS,
    userTokenSubjectClaim: v.USER_TOKEN_SUBJECT_CLAIM,
    maxTokenLifetimeSeconds: v.MAX_TOKEN_LIFETIME_SECONDS,
    metricsPort: v.METRICS_PORT === 0 ? null : v.METRICS_PORT,
    metricsHost: v.METRICS_HOST,
    embeddedPostgresPort: v.EMBEDDED_POSTGRES_PORT,
    azuritePort: v.AZURITE_PORT,
    evidenceReconcileSeconds: v.EVIDENCE_RECONCILE_SECONDS,
    evidenceSweepSeconds: v.EVIDENCE_SWEEP_SECONDS,
    evidenceOrphanAgeSeconds: v.EVIDENCE_ORPHAN_AGE_SECONDS,
    corsOrigins: v.CORS_ORIGINS,
    webhooks: {
      secretOverlapSeconds: v.WEBHOOK_SECRET_OVERLAP_SECONDS,
      retrySchedule: v.WEBHOOK_RETRY_SCHEDULE ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE,
      timeoutSeconds: v.WEBHOOK_TIMEOUT_SECONDS,
      concurrency: v.WEBHOOK_CONCURRENCY,
      disableAfterSeconds: v.WEBHOOK_DISABLE_AFTER_SECONDS,
      allowPrivateNetworks: v.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? !isProduction,
    },
    console: {
      enabled: consoleEnabled(v),
      sessionSecret: consoleSecret(v),
      sessionSecretIsDevelopment: consoleSecret(v) === DEV_CONSOLE_SESSION_SECRET,
      oidcIssuer: v.CONSOLE_OIDC_ISSUER,
      oidcClientId: v.CONSOLE_OIDC_CLIENT_ID,
    },
  };
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
