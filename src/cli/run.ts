// The CLI of SPEC section 11. Each command prints exactly one JSON object on stdout, or an error on stderr.
import type { MikroORM } from '@mikro-orm/postgresql';
import { mintToken } from '../auth/dev-tokens';
import { ConfigError, loadConfig, type Config } from '../config';
import { migrate, openDatabase } from '../db';
import { startEmbeddedPostgres, type Running } from '../infra/embedded';
import { createLogger } from '../logger';
import {
  createOperator,
  createPartner,
  deactivateOperator,
  findOperator,
} from '../services/identity/admin.service';
import { DomainError } from '../domain/errors';
import { newOperator, newPartner, parseInput } from '../shapes/inputs';
import { enrollOtp } from '../services/identity/otp.service';
import { ADMIN_COMMANDS, dailyLimitsFlag, parseApprovalLimits, partnerScope } from './admin.commands';
import { WEBHOOK_COMMANDS } from './webhook.commands';
import { type CommandHandler, type Flags, parseFlags, text, UsageError } from './flags';

export { parseFlags, UsageError };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const USAGE = `usage: npm run --silent cli -- COMMAND [flags]
  partner:create --name NAME --currency CUR
  operator:create --email E --name N --roles R1,R2 (--partners ID1,ID2 | --all-partners) [--otp]
                  [--subject S] [--approval-limit CUR:AMOUNT,…] [--daily-approval-limit CUR:AMOUNT,…]
  operator:update --operator ID_OR_EMAIL [--roles R1,R2] [--partners ID1,ID2 | --all-partners]
                  [--subject S] [--approval-limit CUR:AMOUNT,… | none]
                  [--daily-approval-limit CUR:AMOUNT,… | none]
  operator:deactivate --operator ID_OR_EMAIL
  operator:activate --operator ID_OR_EMAIL
  operator:show --operator ID_OR_EMAIL
  policy:set --partner ID --reason TEXT [--tiers FROM:APPROVALS,…] [--pending-ttl-seconds N]
             [--daily-credit-limit AMOUNT|none] [--max-balance AMOUNT|none]
             [--require-amount-confirmation true|false] [--require-evidence-viewed true|false]
             [--reject-reason-required true|false] [--refuse-duplicate-evidence true|false]
  webhook:create --partner ID --url URL [--event-types TYPE,…] [--description TEXT]
  webhook:list --partner ID
  webhook:delete --endpoint ID
  token:app [--name APP_NAME] [--ttl SECONDS]   (production too, with APP_TOKEN_SECRET)
  token:user --operator ID_OR_EMAIL [--ttl SECONDS]
  migrate`;

/** --ttl: 1 s up to MAX_TOKEN_LIFETIME_SECONDS (a longer-lived token would be refused by the service). */
function ttl(flags: Flags, config: Config): number {
  const max = config.maxTokenLifetimeSeconds;
  if (flags.ttl === undefined) return Math.min(3600, max);
  const value = Number(flags.ttl);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new UsageError(
      `--ttl must be a whole number of seconds, at most ${max} (MAX_TOKEN_LIFETIME_SECONDS)`,
    );
  return value;
}

/** Commands that need the database; extended where other features add theirs. */
export const COMMANDS: Record<string, CommandHandler> = {
  async 'partner:create'(orm, flags) {
    const input = parseInput(newPartner, { name: text(flags, 'name'), currency: text(flags, 'currency') });
    const { partner, balance } = await createPartner(orm.em.fork(), input);
    return { id: partner.id, name: partner.name, balanceId: balance.id, currency: balance.currency };
  },
  async 'operator:create'(orm, flags, config) {
    const partnerIds = partnerScope(flags);
    if (partnerIds === undefined) throw new UsageError('give --partners ID1,ID2 or --all-partners');
    if (flags.otp !== undefined && flags.otp !== true) throw new UsageError('--otp takes no value');
    const email = text(flags, 'email');
    // The secret is printed once, here, for the authenticator app; only its AES-256-GCM ciphertext is stored.
    const otp =
      flags.otp === true ? enrollOtp(config.otpEncryptionKey, email.trim().toLowerCase()) : undefined;
    const input = parseInput(newOperator, {
      email,
      name: text(flags, 'name'),
      roles: text(flags, 'roles').split(','),
      partnerIds,
      otpRequired: otp !== undefined,
      otpSecretEncrypted: otp?.encrypted ?? null,
      subject: flags.subject === undefined ? undefined : text(flags, 'subject'),
      approvalLimits:
        flags['approval-limit'] === undefined ? null : parseApprovalLimits(flags['approval-limit']),
      dailyApprovalLimits: dailyLimitsFlag(flags) ?? null,
    });
    const operator = await createOperator(orm.em.fork(), input, {
      reuseAfterSeconds: config.maxTokenLifetimeSeconds,
    });
    return {
      id: operator.id,
      email: operator.email,
      roles: operator.roles,
      partnerIds: operator.partnerIds,
      otpRequired: operator.otpRequired,
      ...(input.subject !== undefined ? { subject: operator.subject } : {}),
      ...(operator.approvalLimits ? { approvalLimits: operator.approvalLimits } : {}),
      ...(operator.dailyApprovalLimits ? { dailyApprovalLimits: operator.dailyApprovalLimits } : {}),
      ...(otp ? { otpauthUri: otp.uri, otpSecret: otp.secret } : {}),
    };
  },
  async 'operator:deactivate'(orm, flags) {
    const operator = await deactivateOperator(orm.em.fork(), text(flags, 'operator'));
    return { id: operator.id, active: operator.active };
  },
  async 'token:user'(orm, flags, config) {
    const operator = await findOperator(orm.em.fork(), text(flags, 'operator'));
    return { token: await mintToken(config, 'user', operator.subject, ttl(flags, config)) };
  },
  async migrate(orm) {
    return { applied: await migrate(orm) };
  },
  ...ADMIN_COMMANDS,
  ...WEBHOOK_COMMANDS,
};

/** Runs one command against DATABASE_URL, or the embedded PostgreSQL of DATA_DIR (running or not). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const [command, ...rest] = argv;
  const out = (value: unknown): CliResult => ({ code: 0, stdout: `${JSON.stringify(value)}\n`, stderr: '' });
  const err = (message: string, code = 1): CliResult => ({ code, stdout: '', stderr: `error: ${message}\n` });
  if (!command || command === 'help' || command === '--help') return err(USAGE, command ? 0 : 2);

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return err(e.problems.join('\n  '), 2);
    throw e;
  }
  const log = createLogger(env.LOG_LEVEL ?? 'warn', process.stderr);
  let embedded: Running | undefined;
  let orm: MikroORM | undefined;
  try {
    const flags = parseFlags(rest);
    if (command === 'token:app') {
      // Production included: the application's own token, signed with APP_TOKEN_SECRET, `sub` its name.
      const name = flags.name ?? flags.subject;
      if (name !== undefined && (typeof name !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(name)))
        throw new UsageError('--name must be 1-255 printable characters without spaces');
      return out({ token: await mintToken(config, 'app', name ?? 'cli', ttl(flags, config)) });
    }
    const handler = COMMANDS[command];
    if (!handler) return err(`unknown command "${command}"\n${USAGE}`, 2);
    if (command === 'token:user' && config.production)
      return err('minting user tokens is refused in production: they come from your identity provider');
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      if (config.production) return err('DATABASE_URL is required in production');
      embedded = await startEmbeddedPostgres(config.dataDir, log, config.embeddedPostgresPort);
      databaseUrl = embedded.url;
    }
    orm = await openDatabase({ url: databaseUrl, sslCa: config.databaseSslCa }, log, {
      pool: { min: 0, max: 2 },
    });
    if (command !== 'migrate') await migrate(orm);
    return out(await handler(orm, flags, { ...config, databaseUrl }));
  } catch (e) {
    if (e instanceof UsageError) return err(`${e.message}\n${USAGE}`, 2);
    if (e instanceof DomainError) return err(`${e.code}: ${e.message}`);
    return err((e as Error).message ?? String(e));
  } finally {
    await orm?.close(true);
    await embedded?.stop();
  }
}
