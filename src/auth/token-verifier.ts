// Verifies the two JWTs (application and operator) with jose. The service never issues tokens in production.
import {
  errors as joseErrors,
  createRemoteJWKSet,
  importSPKI,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyLike,
} from 'jose';
import { createPublicKey, createSecretKey } from 'node:crypto';
import type { Config, TokenKeyConfig } from '../config';
import { DomainError } from '../domain/errors';
import { normaliseSubject } from '../domain/subject';
import { joseRefusal, tokenRefused } from './refusals';
import { type ConsoleSessionService, isConsoleToken } from '../services/identity/console-session.service';
import { VerifiedTokens } from './verified-tokens';

type Key = Uint8Array | KeyLike | JWTVerifyGetKey;

export interface TokenVerifier {
  verifyApp(token: string): Promise<JWTPayload>;
  /**
   * Verifies an operator's token and returns its subject (the configured claim, USER_TOKEN_SUBJECT_CLAIM)
   * and its `exp` (seconds since the epoch).
   */
  verifyUser(token: string): Promise<{ subject: string; exp: number; claim: string }>;
}

/** How far past `exp` a token is still accepted (clock skew between the issuer and this service). */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** The last moment a token with this `exp` verifies. */
export const validUntil = (exp: number): Date => new Date((exp + CLOCK_TOLERANCE_SECONDS) * 1000);

const ASYMMETRIC = ['RS256', 'ES256'];

interface ResolvedKey {
  key: Key;
  algorithms: string[];
  /** A secret or a PEM key: it cannot change while the process runs (a JWKS can rotate its keys). */
  fixed: boolean;
}

async function resolveKey(cfg: TokenKeyConfig): Promise<ResolvedKey> {
  switch (cfg.kind) {
    case 'secret':
      // A key object made once: given bytes, jose would make one on every verification.
      return {
        key: createSecretKey(Buffer.from(cfg.secret, 'utf8')),
        algorithms: ['HS256'],
        fixed: true,
      };
    case 'jwks':
      return {
        key: createRemoteJWKSet(new URL(cfg.url), { timeoutDuration: 5000, cooldownDuration: 30000 }),
        algorithms: ASYMMETRIC,
        fixed: false,
      };
    case 'pem': {
      // The key itself says which algorithm it serves: RSA → RS256, P-256 → ES256. (importSPKI does not
      // check the key type against the algorithm on Node, so it cannot be used to probe.)
      const publicKey = createPublicKey(cfg.pem);
      const alg =
        publicKey.asymmetricKeyType === 'rsa'
          ? 'RS256'
          : publicKey.asymmetricKeyType === 'ec' &&
              publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1'
            ? 'ES256'
            : undefined;
      if (!alg) throw new Error('token public key is neither an RSA nor a P-256 key');
      return {
        key: await importSPKI(cfg.pem, alg),
        algorithms: [alg],
        fixed: true,
      };
    }
  }
}

/** Set on a verified console session token's payload: the operator subject it is bound to. */
export const BOUND_TO = 'consoleBoundTo';

/** The claim naming a token's kind: `app` or `user` (the development tokens carry it). */
export const KIND_CLAIM = 'kind';
type Kind = 'app' | 'user';

/**
 * Both kinds of token are JWTs, so a key shared by the two kinds (one identity provider's JWKS or key
 * for both) would let a user token pass as the application token, and the reverse. A token is therefore
 * accepted as kind K only if it verifies with K's key and either says `kind: K`, or says no kind and
 * does not also verify with the other kind's key. Tokens signed with a shared key must say their kind;
 * with separate keys (equal secrets are refused by the configuration) the claim is optional, but a
 * token that names the other kind is refused either way.
 */
export async function createTokenVerifier(
  config: Pick<
    Config,
    | 'appToken'
    | 'userToken'
    | 'tokenIssuer'
    | 'tokenAudience'
    | 'userTokenSubjectClaim'
    | 'maxTokenLifetimeSeconds'
  >,
  consoleSessions?: ConsoleSessionService,
): Promise<TokenVerifier> {
  const keys = {
    app: await resolveKey(config.appToken),
    user: await resolveKey(config.userToken),
  };
  // With both keys fixed, a token's verdict as either kind can change only when its exp passes: a token
  // accepted once is accepted again from what was kept until then (VerifiedTokens checks exp again).
  const fixed = keys.app.fixed && keys.user.fixed;
  const accepted: Record<Kind, VerifiedTokens | undefined> = {
    app: fixed ? new VerifiedTokens(CLOCK_TOLERANCE_SECONDS) : undefined,
    user: fixed ? new VerifiedTokens(CLOCK_TOLERANCE_SECONDS) : undefined,
  };
  const check = async (token: string, { key, algorithms }: ResolvedKey) => {
    const { payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1] & JWTVerifyGetKey, {
      algorithms,
      issuer: config.tokenIssuer,
      audience: config.tokenAudience,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    // A token that would outlive the longest lifetime (an `exp` of 1e300 never expires): refused, whether
    // counted from now or from when it says it was issued.
    const exp = payload.exp as number;
    const longest = config.maxTokenLifetimeSeconds + CLOCK_TOLERANCE_SECONDS;
    if (exp - Date.now() / 1000 > longest || (typeof payload.iat === 'number' && exp - payload.iat > longest))
      throw new joseErrors.JWTClaimValidationFailed(
        'lifetime over MAX_TOKEN_LIFETIME_SECONDS',
        payload,
        'exp',
        'lies further than MAX_TOKEN_LIFETIME_SECONDS from now or from iat',
      );
    return payload;
  };
  const verifyAs = async (token: string, kind: Kind): Promise<JWTPayload> => {
    const known = accepted[kind]?.get(token);
    if (known) return known;
    let payload: JWTPayload;
    try {
      payload = await check(token, keys[kind]);
    } catch (error) {
      throw joseRefusal(kind, error);
    }
    const other: Kind = kind === 'app' ? 'user' : 'app';
    const said = payload[KIND_CLAIM];
    // Meant for the other header: to this one, a token addressed elsewhere.
    if (said !== undefined && said !== kind)
      throw tokenRefused(kind, 'wrong_audience', `is of kind '${String(said)}', not '${kind}'`);
    if (
      said === undefined &&
      (await check(token, keys[other]).then(
        () => true,
        () => false,
      ))
    )
      throw tokenRefused(
        kind,
        'wrong_audience',
        `says no '${KIND_CLAIM}' claim and the ${other} token's key also verifies it`,
      );
    return accepted[kind]?.set(token, payload) ?? payload;
  };
  return {
    async verifyApp(token) {
      // Only verifyApp fills accepted.app, and only with tokens that are not the console's (a fact of the text).
      const known = accepted.app?.get(token);
      if (known) return known;
      // The console's session token (audience `console`) is verified with its own key and nothing else;
      // authenticate() then requires the user token of the operator it is bound to.
      if (consoleSessions && isConsoleToken(token)) {
        const { boundTo, exp } = await consoleSessions
          .verify(token, CLOCK_TOLERANCE_SECONDS)
          .catch((error: unknown) => {
            throw error instanceof DomainError ? error : joseRefusal('app', error);
          });
        return { exp, [BOUND_TO]: boundTo };
      }
      return verifyAs(token, 'app');
    },
    async verifyUser(token) {
      const payload = await verifyAs(token, 'user');
      const claim = payload[config.userTokenSubjectClaim];
      if (typeof claim !== 'string')
        throw tokenRefused(
          'user',
          'malformed',
          `has no usable '${config.userTokenSubjectClaim}' claim (USER_TOKEN_SUBJECT_CLAIM)`,
        );
      // Spelt as stored subjects are; one no subject can be (a NUL, a zero-width character) names nobody.
      const checked = normaliseSubject(claim);
      if (!checked.ok)
        throw tokenRefused(
          'user',
          'malformed',
          `has no usable '${config.userTokenSubjectClaim}' claim (it ${checked.problem})`,
        );
      return { subject: checked.subject, exp: payload.exp as number, claim: config.userTokenSubjectClaim };
    },
  };
}
