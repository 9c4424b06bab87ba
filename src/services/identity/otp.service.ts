// OTP elevation (SPEC section 6): TOTP enrolment, and the check with replay refusal and a lockout counted in the database.
import type { EntityManager } from '@mikro-orm/postgresql';
import * as OTPAuth from 'otpauth';
import type { Operator } from '../../entities/operator.entity';
import type { ServiceContext } from '../../domain/context';
import { DomainError } from '../../domain/errors';
import { ADVISORY_LOCKS } from '../../infra/locks';
import { decryptSecret, encryptSecret } from './secret-box';

export const OTP_ISSUER = 'Process Requests';
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** ±1 step, as RFC 6238 recommends for clock drift. */
const WINDOW = 1;
export const OTP_MAX_FAILURES = 5;
export const OTP_LOCK_WINDOW_SECONDS = 15 * 60;
/** Attempts older than this are deleted when the operator next tries; far longer than any window that reads them. */
const KEEP_ATTEMPTS_SECONDS = 24 * 3600;

function totp(secret: OTPAuth.Secret, label = 'operator'): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: OTP_ISSUER,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret,
  });
}

export interface OtpEnrolment {
  /** Base32 secret for manual entry. */
  secret: string;
  /** otpauth:// URI for authenticator apps (QR code). */
  uri: string;
  /** What is stored in operator.otp_secret_encrypted. */
  encrypted: string;
}

/** A fresh 160-bit TOTP secret for an operator, sealed with the configured key. */
export function enrollOtp(key: Buffer, label: string): OtpEnrolment {
  const secret = new OTPAuth.Secret({ size: 20 });
  return {
    secret: secret.base32,
    uri: totp(secret, label).toString(),
    encrypted: encryptSecret(key, secret.base32),
  };
}

type CheckResult =
  | { ok: true }
  | { ok: false; code: 'OTP_INVALID'; reason: string }
  | { ok: false; code: 'OTP_LOCKED'; reason: string; retryAfterSeconds: number };

export class OtpService {
  constructor(private readonly key: Buffer) {}

  /**
   * Demands a valid, unused code from an operator subject to OTP; does nothing for anyone else
   * (an `otp` they send is ignored). Missing: 403 OTP_REQUIRED. Wrong, malformed, already used, or of
   * a time step not after the last one the operator used: 403 OTP_INVALID, counted. Once 5 failures
   * fall within 15 minutes, every attempt (even a right code) is 429 OTP_LOCKED, uncounted, until the
   * oldest of them leaves the window; the error says in how many seconds. Checks of one operator are
   * serialized by an advisory lock held in the checking transaction, so parallel requests, several
   * processes and GraphQL aliases all see each other's attempts.
   */
  async verify(ctx: ServiceContext, code: unknown): Promise<void> {
    const operator = ctx.operator;
    if (!operator.otpRequired) return;
    if (code === undefined || code === null || code === '') throw new DomainError('OTP_REQUIRED');
    const result = await ctx.em.transactional((em) => this.check(em, operator, code));
    if (!result.ok) {
      ctx.log.info({ code: result.code, reason: result.reason }, 'OTP refused');
      throw new DomainError(result.code, undefined, undefined, {
        retryAfterSeconds: result.code === 'OTP_LOCKED' ? result.retryAfterSeconds : undefined,
      });
    }
  }

  /** Runs inside the checking transaction; records the attempt and returns the verdict (the record must commit). */
  private async check(em: EntityManager, operator: Operator, code: unknown): Promise<CheckResult> {
    const id = operator.id;
    await em.execute('select pg_advisory_xact_lock(?, hashtext(?))', [ADVISORY_LOCKS.OTP, id]);
    await em.execute(
      `delete from otp_attempt where operator_id = ? and at < now() - make_interval(secs => ?)`,
      [id, KEEP_ATTEMPTS_SECONDS],
    );
    const [{ failures }] = await em.execute<{ failures: string }[]>(
      `select count(*) as failures from otp_attempt where operator_id = ? and success = false and at > now() - make_interval(secs => ?)`,
      [id, OTP_LOCK_WINDOW_SECONDS],
    );
    // Attempts while locked are refused without being recorded, so the lock ends when the window passes.
    if (Number(failures) >= OTP_MAX_FAILURES) {
      // It ends when so many failures have left the window that fewer than the maximum remain.
      const [{ seconds }] = await em.execute<{ seconds: number }[]>(
        `select greatest(1, ceil(extract(epoch from at + make_interval(secs => ?) - now())))::int as seconds
         from otp_attempt where operator_id = ? and success = false and at > now() - make_interval(secs => ?)
         order by at offset ? limit 1`,
        [OTP_LOCK_WINDOW_SECONDS, id, OTP_LOCK_WINDOW_SECONDS, Number(failures) - OTP_MAX_FAILURES],
      );
      return { ok: false, code: 'OTP_LOCKED', reason: 'locked', retryAfterSeconds: seconds };
    }

    const fail = async (reason: string): Promise<CheckResult> => {
      await em.execute(`insert into otp_attempt (operator_id, success) values (?, false)`, [id]);
      return { ok: false, code: 'OTP_INVALID', reason };
    };

    if (typeof code !== 'string' || !/^\d{6}$/.test(code)) return fail('malformed');
    if (!operator.otpSecretEncrypted) return fail('not enrolled');
    let secret: OTPAuth.Secret;
    try {
      secret = OTPAuth.Secret.fromBase32(decryptSecret(this.key, operator.otpSecretEncrypted));
    } catch {
      // A secret sealed with another key: the operator must be enrolled again. Never a 500.
      return fail('secret unreadable');
    }
    const generator = totp(secret);
    const now = Date.now();
    const delta = generator.validate({ token: code, timestamp: now, window: WINDOW });
    if (delta === null) return fail('wrong code');
    const step = generator.counter({ timestamp: now }) + delta;
    // Steps only move forward: once a code is used, no code of that step or an earlier one is (a code of
    // the previous step, still inside the ±1 window, would otherwise be a second code for that moment).
    const [{ last }] = await em.execute<{ last: string | null }[]>(
      `select max(counter) as last from otp_attempt where operator_id = ? and success = true`,
      [id],
    );
    if (last !== null && step <= Number(last)) return fail(step === Number(last) ? 'replayed' : 'older step');
    const used = await em.execute<{ id: string }[]>(
      `insert into otp_attempt (operator_id, success, counter) values (?, true, ?) on conflict (operator_id, counter) do nothing returning id`,
      [id, step],
    );
    if (used.length === 0) return fail('replayed');
    return { ok: true };
  }
}
