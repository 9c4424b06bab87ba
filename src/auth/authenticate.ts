// Builds the acting operator from the two credentials, for HTTP headers and graphql-ws connection params alike.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Operator } from '../entities/operator.entity';
import { DomainError } from '../domain/errors';
import { BOUND_TO, type TokenVerifier, validUntil } from './token-verifier';
import { type TokenName, tokenRefused } from './refusals';

export interface Credentials {
  authorization?: unknown;
  'x-user-token'?: unknown;
}

/** The two credentials out of HTTP headers or graphql-ws connection params (same names in both). */
export function credentialsOf(source: Record<string, unknown> | undefined): Credentials {
  return { authorization: source?.authorization, 'x-user-token': source?.['x-user-token'] };
}

const MAX_TOKEN_LENGTH = 8192;

function bearer(value: unknown, token: TokenName): string {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
    return missing(token);
  if (typeof value !== 'string') throw tokenRefused(token, 'malformed', 'is not a string');
  if (value.length > MAX_TOKEN_LENGTH)
    throw tokenRefused(token, 'malformed', `is longer than ${MAX_TOKEN_LENGTH} characters`);
  const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(value.trim());
  if (/^Bearer\s*$/i.test(value.trim())) return missing(token);
  if (!match)
    throw tokenRefused(
      token,
      'malformed',
      /^Bearer /i.test(value.trim())
        ? 'is not a JWT (three base64url parts joined by dots)'
        : "must be written 'Bearer ' followed by the JWT",
    );
  return match[1];
}

function missing(token: TokenName): never {
  throw tokenRefused(token, 'missing', "is missing: send 'Bearer ' followed by the JWT");
}

export interface Authenticated {
  operator: Operator;
  /** When the earlier of the two tokens stops verifying: a progress stream opened with them ends then. */
  validUntil: Date;
}

/**
 * Verifies both tokens, then reads the operator whose `subject` the user token names from the database:
 * roles, scope and the active flag are always the stored ones. 401 for any token problem,
 * 403 OPERATOR_INACTIVE for a deactivated operator.
 */
export async function authenticate(
  verifier: TokenVerifier,
  em: EntityManager,
  credentials: Credentials,
): Promise<Authenticated> {
  const appToken = bearer(credentials.authorization, 'app');
  const userToken = bearer(credentials['x-user-token'], 'user');
  const app = await verifier.verifyApp(appToken);
  const { subject, exp, claim } = await verifier.verifyUser(userToken);
  // A console session token is good only with the user token of the operator it was opened for.
  if (app[BOUND_TO] !== undefined && app[BOUND_TO] !== subject)
    throw new DomainError('UNAUTHENTICATED', 'The console session belongs to another operator');
  // A plain statement mapped onto the entity (merged into this request's identity map, as findOne would):
  // every call reads it, and the query builder and find pipeline were its cost. An operator never given a
  // subject has its id as one, which only `sub` tokens of this service's own minting carry: any other claim
  // (an outside provider's `email`, `oid`) could be made to hold an id every reader of a partner sees.
  const [row] = await em.execute<Array<Record<string, unknown>>>(
    `select * from operator where subject = ?${claim === 'sub' ? '' : ' and subject <> id::text'}`,
    [subject],
  );
  const operator = row ? em.map(Operator, row) : null;
  if (!operator)
    throw tokenRefused(
      'user',
      'unknown_subject',
      "names no known operator (its subject claim matches no operator's subject)",
    );
  if (!operator.active) throw new DomainError('OPERATOR_INACTIVE');
  return { operator, validUntil: validUntil(Math.min(app.exp as number, exp)) };
}
