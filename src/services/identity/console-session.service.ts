// The checker console's sessions (SPEC section 17): a short-lived application token of audience `console`,
// bound to one operator, so the browser never holds a long-lived application secret. The service accepts
// it as the application token only together with a user token of that same operator.
import { decodeJwt, errors, jwtVerify, SignJWT } from 'jose';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { DomainError } from '../../domain/errors';
import type { Operator } from '../../entities/operator.entity';

export const CONSOLE_AUDIENCE = 'console';
export const CONSOLE_ISSUER = 'process-requests-console';
/** The claim naming the operator (its `subject`) a console token is bound to. */
export const BOUND_OPERATOR_CLAIM = 'op';
/** At most 15 minutes (SPEC section 17); the page renews it well before. */
export const CONSOLE_SESSION_TTL_SECONDS = 600;

export interface ConsoleSession {
  token: string;
  expiresAt: Date;
  operatorId: string;
}

/** True when a token names the console audience (it is then verified as a console token, and only so). */
export function isConsoleToken(token: string): boolean {
  try {
    const { aud } = decodeJwt(token);
    return aud === CONSOLE_AUDIENCE || (Array.isArray(aud) && aud.includes(CONSOLE_AUDIENCE));
  } catch {
    return false;
  }
}

export class ConsoleSessionService {
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly enabled: boolean,
    private readonly ttlSeconds = CONSOLE_SESSION_TTL_SECONDS,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /**
   * Opens a session for an active operator authenticated by its user token alone (authenticateUser), whose
   * `exp` it never outlives: 404 when the console is off.
   */
  async open(operator: Pick<Operator, 'id' | 'subject'>, userTokenExp: number): Promise<ConsoleSession> {
    if (!this.enabled) throw new DomainError('NOT_FOUND', 'The console is not enabled');
    const exp = Math.min(Math.floor(Date.now() / 1000) + this.ttlSeconds, userTokenExp);
    const token = await new SignJWT({ kind: 'app', [BOUND_OPERATOR_CLAIM]: operator.subject })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(CONSOLE_ISSUER)
      .setAudience(CONSOLE_AUDIENCE)
      .setSubject('console')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000), operatorId: operator.id };
  }

  /**
   * Verifies a console token; returns the operator subject it is bound to, and its `exp`. When it does not
   * verify, jose's error says why (the token verifier names the reason); 401 when the console is off.
   */
  async verify(token: string, clockToleranceSeconds: number): Promise<{ boundTo: string; exp: number }> {
    if (!this.enabled) throw new DomainError('UNAUTHENTICATED', 'The console is not enabled');
    const { payload } = await jwtVerify(token, this.key, {
      algorithms: ['HS256'],
      issuer: CONSOLE_ISSUER,
      audience: CONSOLE_AUDIENCE,
      requiredClaims: ['exp', BOUND_OPERATOR_CLAIM],
      clockTolerance: clockToleranceSeconds,
      maxTokenAge: `${this.ttlSeconds + clockToleranceSeconds}s`,
    });
    const boundTo = payload[BOUND_OPERATOR_CLAIM];
    if (typeof boundTo !== 'string' || boundTo === '')
      throw new errors.JWTClaimValidationFailed(
        `"${BOUND_OPERATOR_CLAIM}" claim must be a subject`,
        payload,
        BOUND_OPERATOR_CLAIM,
        'invalid',
      );
    return { boundTo, exp: payload.exp as number };
  }
}
