// Verifies the two JWTs (application and operator) with jose. The service never issues tokens in production.
import {
  createRemoteJWKSet,
  importSPKI,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyLike,
} from 'jose';
import { createPublicKey } from 'node:crypto';
import type { Config, TokenKeyConfig } from '../config';
import { DomainError } from '../services/errors';

type Key = Uint8Array | KeyLike | JWTVerifyGetKey;

export interface TokenVerifier {
  verifyApp(token: string): Promise<JWTPayload>;
  /** Verifies an operator's token and returns its subject: the configured claim (USER_TOKEN_SUBJECT_CLAIM). */
  verifyUser(token: string): Promise<{ subject: string }>;
}

const ASYMMETRIC = ['RS256', 'ES256'];

async function resolveKey(cfg: TokenKeyConfig): Promise<{ key: Key; algorithms: string[] }> {
  switch (cfg.kind) {
    case 'secret':
      return { key: new TextEncoder().encode(cfg.secret), algorithms: ['HS256'] };
    case 'jwks':
      return {
        key: createRemoteJWKSet(new URL(cfg.url), { timeoutDuration: 5000, cooldownDuration: 30000 }),
        algorithms: ASYMMETRIC,
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
      return { key: await importSPKI(cfg.pem, alg), algorithms: [alg] };
    }
  }
}

export async function createTokenVerifier(
  config: Pick<Config, 'appToken' | 'userToken' | 'tokenIssuer' | 'tokenAudience' | 'userTokenSubjectClaim'>,
): Promise<TokenVerifier> {
  const [app, user] = await Promise.all([resolveKey(config.appToken), resolveKey(config.userToken)]);
  const verify = async (token: string, { key, algorithms }: { key: Key; algorithms: string[] }) => {
    try {
      const { payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1] & JWTVerifyGetKey, {
        algorithms,
        issuer: config.tokenIssuer,
        audience: config.tokenAudience,
        requiredClaims: ['exp'],
        clockTolerance: 5,
      });
      return payload;
    } catch {
      throw new DomainError('UNAUTHENTICATED');
    }
  };
  return {
    verifyApp: (token) => verify(token, app),
    async verifyUser(token) {
      const subject = (await verify(token, user))[config.userTokenSubjectClaim];
      if (typeof subject !== 'string' || subject.length === 0 || subject.length > 255)
        throw new DomainError(
          'UNAUTHENTICATED',
          `The user token has no ${config.userTokenSubjectClaim} claim`,
        );
      return { subject };
    },
  };
}
