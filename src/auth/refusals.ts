// Why a credential was refused (SPEC section 20): every 401 names the token (`app` in Authorization, `user`
// in x-user-token, or a progress stream's `ticket`) and one reason, in the body's `details` and, for HTTP,
// in RFC 6750's WWW-Authenticate.
import { errors as jose } from 'jose';
import { DomainError } from '../domain/errors';

export type TokenName = 'app' | 'user' | 'ticket';

export const TOKEN_REFUSAL_REASONS = [
  'missing',
  'malformed',
  'expired',
  'not_yet_valid',
  'bad_signature',
  'wrong_issuer',
  'wrong_audience',
  'unknown_subject',
  // A stream ticket never issued, or already used.
  'unknown',
] as const;
export type TokenRefusalReason = (typeof TOKEN_REFUSAL_REASONS)[number];

/** Where each token travels. */
export const TOKEN_HEADER: Record<TokenName, string> = {
  app: 'Authorization',
  user: 'x-user-token',
  ticket: '?ticket=',
};

/** The 401 for one token: `details` = { token, header, reason }. */
export function tokenRefused(token: TokenName, reason: TokenRefusalReason, says: string): DomainError {
  const header = TOKEN_HEADER[token];
  return new DomainError('UNAUTHENTICATED', `The ${token} token (${header}) ${says}`, {
    token,
    header,
    reason,
  });
}

/** A jose verification failure as the reason an integrator can act on. */
export function joseRefusal(token: 'app' | 'user', error: unknown): DomainError {
  if (error instanceof jose.JWTExpired) return tokenRefused(token, 'expired', 'has expired');
  if (error instanceof jose.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
      case 'iat':
        return tokenRefused(token, 'not_yet_valid', `is not valid yet (${error.claim} lies in the future)`);
      case 'iss':
        return tokenRefused(token, 'wrong_issuer', 'was issued by another issuer than TOKEN_ISSUER');
      case 'aud':
        return tokenRefused(token, 'wrong_audience', 'is meant for another audience than TOKEN_AUDIENCE');
      default:
        return tokenRefused(token, 'malformed', `has an unusable '${error.claim}' claim (${error.reason})`);
    }
  }
  if (error instanceof jose.JOSEAlgNotAllowed)
    return tokenRefused(token, 'bad_signature', 'is signed with an algorithm this service does not accept');
  if (error instanceof jose.JWSSignatureVerificationFailed || error instanceof jose.JWKSNoMatchingKey)
    return tokenRefused(token, 'bad_signature', 'is not signed with the key this service holds for it');
  return tokenRefused(token, 'malformed', 'is not a well-formed signed JWT');
}

/** The quoted-string of an RFC 6750 error_description: printable ASCII without `"` and `\`. */
const quotable = (text: string) => text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ');

/** The WWW-Authenticate value of a 401 (`Bearer` alone when the error says nothing). */
export function wwwAuthenticate(error: DomainError): string {
  if (error.code !== 'UNAUTHENTICATED') return 'Bearer';
  return `Bearer error="invalid_token", error_description="${quotable(error.message)}"`;
}
