// Mints HS256 tokens: with the development secrets for the demo start-up output, the CLI and tests; in
// production only application tokens (`cli:prod token:app`, on a host that holds APP_TOKEN_SECRET). User
// tokens in production come from the identity provider, never from here.
import { SignJWT } from 'jose';
import type { Config } from '../config';
import { KIND_CLAIM } from './token-verifier';

export type TokenKind = 'app' | 'user';

/** `subject`: the application's name, or the operator's `subject` (by default its id). */
export async function mintToken(
  config: Config,
  kind: TokenKind,
  subject: string,
  ttlSeconds = 3600,
): Promise<string> {
  const key = kind === 'app' ? config.appToken : config.userToken;
  if (config.production && kind === 'user')
    throw new Error('minting user tokens is refused in production: they come from your identity provider');
  if (key.kind !== 'secret')
    throw new Error(`${kind} tokens are verified with a public key here; they cannot be minted`);
  // A user token names its operator in the configured claim (USER_TOKEN_SUBJECT_CLAIM), `sub` by default.
  const claims =
    kind === 'user' && config.userTokenSubjectClaim !== 'sub'
      ? { [config.userTokenSubjectClaim]: subject }
      : {};
  let jwt = new SignJWT({ [KIND_CLAIM]: kind, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (config.tokenIssuer) jwt = jwt.setIssuer(config.tokenIssuer);
  if (config.tokenAudience) jwt = jwt.setAudience(config.tokenAudience);
  return jwt.sign(new TextEncoder().encode(key.secret));
}
